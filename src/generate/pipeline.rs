//! Ordered parallel execution with bounded memory.
//!
//! Work items run on the Rayon pool; their results are handed to one consumer strictly in item
//! order. At most `budget` weight (rows) is in flight — submitted but not yet consumed — so
//! memory is bounded by the work in flight, never by the size of the whole run.

use std::collections::BTreeMap;
use std::sync::mpsc;

/// Runs `work` on every item in parallel on `pool` and feeds the results to `consume` in item
/// order. An item heavier than `budget` still runs, alone.
pub fn ordered_map<T, R, E>(
    pool: &rayon::ThreadPool,
    items: &[T],
    budget: u64,
    weight: impl Fn(&T) -> u64,
    work: impl Fn(&T) -> Result<R, E> + Sync,
    mut consume: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E>
where
    T: Sync,
    R: Send,
    E: Send,
{
    let n = items.len();
    let (tx, rx) = mpsc::channel::<(usize, Result<R, E>)>();
    let work = &work;
    pool.in_place_scope(|scope| {
        let mut submitted = 0;
        let mut consumed = 0;
        let mut in_flight = 0u64;
        let mut ready: BTreeMap<usize, Result<R, E>> = BTreeMap::new();
        while consumed < n {
            while submitted < n && (submitted == consumed || in_flight + weight(&items[submitted]) <= budget) {
                in_flight += weight(&items[submitted]);
                let tx = tx.clone();
                let item = &items[submitted];
                let index = submitted;
                scope.spawn(move |_| {
                    // The receiver only goes away after an error; the result is not needed then.
                    let _ = tx.send((index, work(item)));
                });
                submitted += 1;
            }
            let (index, result) = rx.recv().expect("a spawned job sends before it ends");
            ready.insert(index, result);
            while let Some(result) = ready.remove(&consumed) {
                in_flight -= weight(&items[consumed]);
                consumed += 1;
                consume(result?)?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn results_arrive_in_order_with_bounded_flight() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        let items: Vec<u64> = (0..200).collect();
        let in_flight = AtomicU64::new(0);
        let peak = AtomicU64::new(0);
        let mut seen = Vec::new();
        ordered_map::<_, _, ()>(
            &pool,
            &items,
            10,
            |_| 1,
            |&i| {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                // Later items finish first more often than not.
                let spin = (200 - i) * 50;
                let mut x = 0u64;
                for k in 0..spin {
                    x = x.wrapping_add(k * k);
                }
                in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok((i, x))
            },
            |(i, _)| {
                seen.push(i);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, items);
        assert!(peak.load(Ordering::SeqCst) <= 10);
    }

    #[test]
    fn an_error_stops_consumption() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let items: Vec<u32> = (0..50).collect();
        let mut seen = Vec::new();
        let result = ordered_map(
            &pool,
            &items,
            4,
            |_| 1,
            |&i| if i == 7 { Err(format!("unit {i} failed")) } else { Ok(i) },
            |i| {
                seen.push(i);
                Ok(())
            },
        );
        assert_eq!(result, Err("unit 7 failed".to_string()));
        assert_eq!(seen, (0..7).collect::<Vec<_>>());
    }
}
