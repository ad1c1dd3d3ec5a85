//! Ordered parallel execution with bounded memory, in four stages:
//!
//! 1. `generate` runs on the Rayon pool, one job per item, in any order;
//! 2. `carry` sees the generated results strictly in item order, on one thread: state that passes
//!    from one time slice to the next (a ticket tier's remaining inventory) lives here;
//! 3. `encode` runs on the pool again, one job per carried result;
//! 4. `write` sees the encoded results strictly in item order, on one thread.
//!
//! At most `budget` weight (rows) is in flight — submitted but not yet written — so memory is
//! bounded by the work in flight, never by the size of the whole run. An item heavier than
//! `budget` still runs, alone. The output does not depend on the thread count: every stage that
//! holds state runs in item order.

use std::collections::BTreeMap;
use std::sync::mpsc;

/// What the stages send back to the coordinating thread.
enum Done<R, E, Err> {
    Generated(usize, Result<R, Err>),
    Encoded(usize, Result<E, Err>),
}

/// The four stages of [`ordered_pipeline`]. `carry` may return `None` to drop an item after
/// carrying its state (a shard simulates the units before its own but writes only its own).
pub struct Stages<G, C, N, W> {
    pub generate: G,
    pub carry: C,
    pub encode: N,
    pub write: W,
}

/// Runs `items` through the four stages (see the module documentation).
pub fn ordered_pipeline<T, R, S, E, Err, G, C, N, W>(
    pool: &rayon::ThreadPool,
    items: &[T],
    budget: u64,
    weight: impl Fn(&T) -> u64,
    stages: Stages<G, C, N, W>,
) -> Result<(), Err>
where
    T: Sync,
    R: Send,
    S: Send,
    E: Send,
    Err: Send,
    G: Fn(&T) -> Result<R, Err> + Sync,
    C: FnMut(usize, R) -> Result<Option<S>, Err>,
    N: Fn(S) -> Result<E, Err> + Sync,
    W: FnMut(E) -> Result<(), Err>,
{
    let Stages {
        generate,
        mut carry,
        encode,
        mut write,
    } = stages;
    let n = items.len();
    let (tx, rx) = mpsc::channel::<Done<R, E, Err>>();
    let (generate, encode) = (&generate, &encode);
    pool.in_place_scope(|scope| {
        let mut submitted = 0;
        // Items carried so far, and written (or dropped) so far.
        let mut carried = 0;
        let mut finished = 0;
        let mut in_flight = 0u64;
        let mut generated: BTreeMap<usize, Result<R, Err>> = BTreeMap::new();
        let mut encoded: BTreeMap<usize, Result<E, Err>> = BTreeMap::new();
        // Items whose encoding was started, in order; `None` marks an item `carry` dropped.
        let mut pending: std::collections::VecDeque<(usize, bool)> = std::collections::VecDeque::new();
        while finished < n {
            while submitted < n && (submitted == finished || in_flight + weight(&items[submitted]) <= budget) {
                in_flight += weight(&items[submitted]);
                let tx = tx.clone();
                let item = &items[submitted];
                let index = submitted;
                scope.spawn(move |_| {
                    // The receiver only goes away after an error; the result is not needed then.
                    let _ = tx.send(Done::Generated(index, generate(item)));
                });
                submitted += 1;
            }
            match rx.recv().expect("a spawned job sends before it ends") {
                Done::Generated(i, r) => {
                    generated.insert(i, r);
                }
                Done::Encoded(i, e) => {
                    encoded.insert(i, e);
                }
            }
            while let Some(result) = generated.remove(&carried) {
                let index = carried;
                carried += 1;
                match carry(index, result?)? {
                    Some(slice) => {
                        let tx = tx.clone();
                        scope.spawn(move |_| {
                            let _ = tx.send(Done::Encoded(index, encode(slice)));
                        });
                        pending.push_back((index, true));
                    }
                    None => pending.push_back((index, false)),
                }
            }
            while let Some(&(index, started)) = pending.front() {
                if started {
                    let Some(result) = encoded.remove(&index) else { break };
                    write(result?)?;
                }
                pending.pop_front();
                in_flight -= weight(&items[index]);
                finished += 1;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn spin(n: u64) -> u64 {
        (0..n).fold(0u64, |x, k| x.wrapping_add(k * k))
    }

    #[test]
    fn stages_see_items_in_order_with_bounded_flight() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        let items: Vec<u64> = (0..200).collect();
        let in_flight = AtomicU64::new(0);
        let peak = AtomicU64::new(0);
        let mut carried = Vec::new();
        let mut written = Vec::new();
        let mut state = 0u64;
        ordered_pipeline::<_, _, _, _, (), _, _, _, _>(
            &pool,
            &items,
            10,
            |_| 1,
            Stages {
                generate: |&i: &u64| {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    // Later items finish first more often than not.
                    let x = spin((200 - i) * 50);
                    Ok((i, x))
                },
                carry: |index, (i, _)| {
                    assert_eq!(index as u64, i);
                    carried.push(i);
                    state += i;
                    if i % 3 == 0 {
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                    }
                    // Every third item is dropped after carrying.
                    Ok((i % 3 != 0).then_some((i, state)))
                },
                encode: |(i, s)| {
                    let x = spin((200 - i) * 30);
                    Ok((i, s, x))
                },
                write: |(i, s, _)| {
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    written.push((i, s));
                    Ok(())
                },
            },
        )
        .unwrap();
        assert_eq!(carried, items);
        let expected: Vec<(u64, u64)> = items
            .iter()
            .filter(|i| *i % 3 != 0)
            .map(|&i| (i, i * (i + 1) / 2))
            .collect();
        assert_eq!(written, expected);
        assert!(peak.load(Ordering::SeqCst) <= 10);
    }

    #[test]
    fn an_error_stops_the_pipeline() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let items: Vec<u32> = (0..50).collect();
        let mut seen = Vec::new();
        let result = ordered_pipeline(
            &pool,
            &items,
            4,
            |_| 1,
            Stages {
                generate: |&i: &u32| if i == 7 { Err(format!("unit {i} failed")) } else { Ok(i) },
                carry: |_, i| Ok(Some(i)),
                encode: Ok,
                write: |i| {
                    seen.push(i);
                    Ok(())
                },
            },
        );
        assert_eq!(result, Err("unit 7 failed".to_string()));
        assert!(seen.iter().all(|&i| i < 7));
    }
}
