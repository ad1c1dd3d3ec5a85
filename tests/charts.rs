//! Chart renderers: snapshots of each kind, and structural checks on the parsed SVG that count
//! what was drawn against the input (so a dropped bar or point fails a test).

use chrono::NaiveDate;
use roxmltree::{Document, Node};
use trafficsim::report::chart::*;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, d).unwrap()
}

fn upper_hex(c: Colour) -> String {
    c.hex().to_uppercase()
}

/// Parses the SVG and checks the root every chart must have.
fn parse(svg: &str) -> Document<'_> {
    let doc = Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    let view_box = root.attribute("viewBox").expect("viewBox on the root");
    let width = root.attribute("width").unwrap();
    let height = root.attribute("height").unwrap();
    assert_eq!(view_box, format!("0 0 {width} {height}"));
    assert_eq!(root.attribute("role"), Some("img"));
    let first = root.children().find(|n| n.is_element()).unwrap();
    assert_eq!(first.tag_name().name(), "title", "<title> comes first");
    assert!(!svg.contains("href") && !svg.contains("url("), "no external references");
    doc
}

fn title(doc: &Document) -> String {
    doc.root_element()
        .children()
        .find(|n| n.has_tag_name("title"))
        .and_then(|n| n.text())
        .unwrap_or_default()
        .to_string()
}

fn elements<'a>(doc: &'a Document, tag: &str) -> Vec<Node<'a, 'a>> {
    doc.descendants().filter(|n| n.has_tag_name(tag)).collect()
}

fn count_with(doc: &Document, tag: &str, attr: &str, value: &str) -> usize {
    elements(doc, tag)
        .iter()
        .filter(|n| n.attribute(attr) == Some(value))
        .count()
}

fn texts(doc: &Document) -> Vec<String> {
    elements(doc, "text")
        .iter()
        .filter_map(|n| n.text())
        .map(|t| t.trim().to_string())
        .collect()
}

fn point_count(node: &Node) -> usize {
    node.attribute("points").unwrap_or("").split_whitespace().count()
}

fn has_no_data_note(svg: &str) -> bool {
    let doc = parse(svg);
    texts(&doc).iter().any(|t| t == "No data")
}

// ---- fixtures -------------------------------------------------------------------------------

fn line_fixture() -> LineChart {
    let history: Vec<(X, f64)> = [(1, 120.0), (2, 135.5), (3, f64::NAN), (4, 128.0), (5, 140.25)]
        .into_iter()
        .map(|(d, v)| (X::Date(day(d)), v))
        .collect();
    let forecast = vec![
        (X::Date(day(5)), 140.25),
        (X::Date(day(6)), 142.0),
        (X::Date(day(7)), 144.0),
    ];
    LineChart {
        title: "Daily cost & forecast".into(),
        x_label: "Day".into(),
        y_label: "Cost".into(),
        y_unit: Unit::Dollars,
        series: vec![
            LineSeries::new("Cost", history),
            LineSeries::new("Budget", (1..=7).map(|d| (X::Date(day(d)), 150.0)).collect()),
            LineSeries::new("Forecast", forecast).dashed(),
        ],
        bands: vec![Band::new(
            "80% interval",
            vec![
                (X::Date(day(5)), 140.25, 140.25),
                (X::Date(day(6)), 130.0, 155.0),
                (X::Date(day(7)), 125.0, 162.0),
            ],
        )],
        ..Default::default()
    }
}

fn bar_fixture() -> BarChart {
    BarChart {
        title: "Cost by model".into(),
        value_label: "Cost".into(),
        unit: Unit::Dollars,
        bars: vec![
            Bar::new("claude-3-5-sonnet-20241022", 1234.56),
            Bar::new("gpt-4o", 987.0),
            Bar::new("a-model-name-that-is-far-too-long-to-print", 120.5),
            Bar::new("broken", f64::NAN),
            Bar::new("refunds", -40.0).colour(Colour::DANGER),
        ],
        ..Default::default()
    }
}

fn grouped_fixture() -> GroupedBarChart {
    GroupedBarChart {
        title: "Revenue vs cost per tier".into(),
        x_label: "Tier".into(),
        y_label: "USD".into(),
        unit: Unit::Dollars,
        categories: vec!["free".into(), "pro".into(), "enterprise".into()],
        series: vec![
            BarSeries::new("Revenue", vec![0.0, 25_000.0, 90_000.0]),
            BarSeries::new("Cost", vec![1_200.0, f64::NAN, 40_000.0]),
        ],
        show_values: true,
        ..Default::default()
    }
}

fn stacked_fixture() -> StackedAreaChart {
    StackedAreaChart {
        title: "Cost per provider per day".into(),
        y_label: "Cost".into(),
        unit: Unit::Dollars,
        // Out of order on purpose: drawn sorted.
        dates: vec![day(3), day(1), day(2), day(4)],
        series: vec![
            AreaSeries::new("OpenAI", vec![30.0, 10.0, 20.0, 40.0]),
            AreaSeries::new("Anthropic", vec![5.0, f64::NAN, 15.0, 25.0]),
            AreaSeries::new("Google", vec![1.0, 2.0, 3.0, 4.0]),
        ],
        ..Default::default()
    }
}

fn heatmap_fixture() -> Heatmap {
    Heatmap {
        title: "Calls by weekday and hour".into(),
        x_label: "Hour".into(),
        unit: Unit::Count,
        columns: (0..6).map(|h| format!("{h:02}h")).collect(),
        rows: vec!["Mon".into(), "Sat".into(), "Sun".into()],
        values: vec![
            vec![10.0, 50.0, 120.0, 300.0, 280.0, 90.0],
            vec![5.0, 8.0, f64::NAN, 60.0, 40.0, 12.0],
            vec![0.0, 3.0, 20.0, 30.0, 25.0, f64::INFINITY],
        ],
        show_values: true,
        ..Default::default()
    }
}

fn histogram_fixture() -> Histogram {
    Histogram {
        title: "Latency distribution".into(),
        x_label: "Latency".into(),
        y_label: "Calls".into(),
        x_unit: Unit::Millis,
        y_unit: Unit::Count,
        data: HistogramData::Binned(vec![
            Bin {
                lower: 0.0,
                upper: 500.0,
                count: 40.0,
            },
            Bin {
                lower: 500.0,
                upper: 1000.0,
                count: 25.0,
            },
            Bin {
                lower: 1000.0,
                upper: 1500.0,
                count: 0.0,
            },
            Bin {
                lower: 1500.0,
                upper: 2000.0,
                count: 7.0,
            },
            Bin {
                lower: 2000.0,
                upper: 2500.0,
                count: f64::NAN,
            },
            Bin {
                lower: 2500.0,
                upper: 3000.0,
                count: 2.0,
            },
        ]),
        markers: vec![Marker::new(2000.0, "SLA 2,000 ms")],
        ..Default::default()
    }
}

fn scatter_fixture() -> ScatterChart {
    ScatterChart {
        title: "Features: adoption × cost".into(),
        x_label: "Adoption".into(),
        y_label: "Cost per user".into(),
        x_unit: Unit::Percent,
        y_unit: Unit::Dollars,
        points: vec![
            ScatterPoint::new(80.0, 0.5).category("chat").label("Chat assistant"),
            ScatterPoint::new(20.0, 3.0).category("search").label("Deep research"),
            ScatterPoint::new(60.0, 2.5).category("chat"),
            ScatterPoint::new(10.0, 0.2).category("docs"),
            ScatterPoint::new(f64::NAN, 1.0).category("docs"),
        ],
        quadrants: Some(Quadrants {
            x: 50.0,
            y: 1.5,
            labels: ["Optimize".into(), "Maintain".into(), "Sunset".into(), "Invest".into()],
        }),
        ..Default::default()
    }
}

// ---- snapshots ------------------------------------------------------------------------------

#[test]
fn snapshots() {
    insta::assert_snapshot!("line", render_line_chart(&line_fixture()).unwrap());
    insta::assert_snapshot!("bar", render_bar_chart(&bar_fixture()).unwrap());
    insta::assert_snapshot!("grouped_bar", render_grouped_bar_chart(&grouped_fixture()).unwrap());
    insta::assert_snapshot!("stacked_area", render_stacked_area_chart(&stacked_fixture()).unwrap());
    insta::assert_snapshot!("heatmap", render_heatmap(&heatmap_fixture()).unwrap());
    insta::assert_snapshot!("histogram", render_histogram(&histogram_fixture()).unwrap());
    insta::assert_snapshot!("scatter", render_scatter_chart(&scatter_fixture()).unwrap());
}

// ---- structure: what was drawn matches the input --------------------------------------------

#[test]
fn line_chart_draws_each_series_and_the_band() {
    let spec = line_fixture();
    let svg = render_line_chart(&spec).unwrap();
    let doc = parse(&svg);
    assert_eq!(title(&doc), "Daily cost & forecast");
    let solid: Vec<Node> = elements(&doc, "polyline")
        .into_iter()
        .filter(|n| n.attribute("stroke") == Some(&upper_hex(Colour::series(0))))
        .collect();
    assert_eq!(solid.len(), 1, "one polyline for the first series");
    assert_eq!(point_count(&solid[0]), 4, "5 points, 1 NaN skipped");
    let budget = count_with(&doc, "polyline", "stroke", &upper_hex(Colour::series(1)));
    assert_eq!(budget, 1);
    // A dashed series is drawn as separate dash segments.
    let dashes = count_with(&doc, "polyline", "stroke", &upper_hex(Colour::series(2)));
    assert!(dashes >= 3, "forecast dashes: {dashes}");
    let bands = elements(&doc, "polygon");
    assert_eq!(bands.len(), 1);
    assert_eq!(point_count(&bands[0]), 6, "upper and lower edge of 3 points");
    let labels = texts(&doc);
    for expected in ["Cost", "Budget", "Forecast", "80% interval", "Mar 03", "$150"] {
        assert!(
            labels.iter().any(|t| t == expected),
            "missing {expected:?} in {labels:?}"
        );
    }
}

#[test]
fn line_chart_numeric_axis_uses_the_x_unit() {
    let svg = render_line_chart(&LineChart {
        title: "p95 latency by load".into(),
        x_unit: Unit::Count,
        y_unit: Unit::Millis,
        series: vec![LineSeries::new(
            "p95",
            (0..5)
                .map(|i| (X::Num(i as f64 * 5_000.0), 800.0 + i as f64 * 100.0))
                .collect(),
        )],
        ..Default::default()
    })
    .unwrap();
    let labels = texts(&parse(&svg));
    assert!(labels.iter().any(|t| t == "20k"), "{labels:?}");
    assert!(labels.iter().any(|t| t == "1,000 ms"), "{labels:?}");
}

#[test]
fn bar_chart_draws_one_bar_and_value_label_per_finite_bar() {
    let spec = bar_fixture();
    let svg = render_bar_chart(&spec).unwrap();
    let doc = parse(&svg);
    let primary = count_with(&doc, "rect", "fill", &upper_hex(Colour::PRIMARY));
    let danger = count_with(&doc, "rect", "fill", &upper_hex(Colour::DANGER));
    assert_eq!((primary, danger), (3, 1), "4 finite bars, the NaN one dropped");
    let labels = texts(&doc);
    for expected in [
        "$1,234.56",
        "$987.00",
        "$120.50",
        "-$40.00",
        "claude-3-5-sonnet-20241022",
        "gpt-4o",
    ] {
        assert!(
            labels.iter().any(|t| t == expected),
            "missing {expected:?} in {labels:?}"
        );
    }
    assert!(labels.iter().any(|t| t.starts_with("a-model-name") && t.ends_with('…')));
    assert!(!labels.iter().any(|t| t == "broken"));
    // Ranked order kept: first bar on top.
    let y_of = |label: &str| {
        elements(&doc, "text")
            .into_iter()
            .find(|n| n.text().map(str::trim) == Some(label))
            .and_then(|n| n.attribute("y")?.parse::<i32>().ok())
            .unwrap()
    };
    assert!(y_of("claude-3-5-sonnet-20241022") < y_of("gpt-4o"));
}

#[test]
fn grouped_bars_draw_one_rect_per_finite_value() {
    let svg = render_grouped_bar_chart(&grouped_fixture()).unwrap();
    let doc = parse(&svg);
    // One legend swatch per series plus one bar per finite value.
    assert_eq!(count_with(&doc, "rect", "fill", &upper_hex(Colour::series(0))), 1 + 3);
    assert_eq!(count_with(&doc, "rect", "fill", &upper_hex(Colour::series(1))), 1 + 2);
    let labels = texts(&doc);
    for expected in ["free", "pro", "enterprise", "Revenue", "Cost", "$90k", "$1,200"] {
        assert!(
            labels.iter().any(|t| t == expected),
            "missing {expected:?} in {labels:?}"
        );
    }
}

#[test]
fn stacked_area_draws_one_layer_per_series_over_all_dates() {
    let spec = stacked_fixture();
    let svg = render_stacked_area_chart(&spec).unwrap();
    let doc = parse(&svg);
    let layers = elements(&doc, "polygon");
    assert_eq!(layers.len(), 3);
    for layer in &layers {
        assert_eq!(point_count(layer), 2 * spec.dates.len());
    }
    let top_fill: Vec<_> = layers
        .iter()
        .map(|n| n.attribute("fill").unwrap().to_string())
        .collect();
    let expected: Vec<_> = (0..3).map(|i| upper_hex(Colour::series(i))).collect();
    assert_eq!(top_fill, expected, "layers in series order, palette colours");
    // The y axis reaches the largest daily total (40 + 25 + 4 = 69), so it ends at or above 69.
    let labels = texts(&doc);
    assert!(labels.iter().any(|t| t == "$70" || t == "$80"), "{labels:?}");
    assert!(labels.iter().any(|t| t == "Mar 01"));
}

#[test]
fn heatmap_draws_one_cell_per_finite_value_and_a_legend() {
    let spec = heatmap_fixture();
    let svg = render_heatmap(&spec).unwrap();
    let doc = parse(&svg);
    let finite = spec.values.iter().flatten().filter(|v| v.is_finite()).count();
    assert_eq!(finite, 16);
    // Background + cells + 10 legend steps.
    assert_eq!(elements(&doc, "rect").len(), 1 + finite + 10);
    let labels = texts(&doc);
    for expected in ["Mon", "Sun", "00h", "05h", "300", "0"] {
        assert!(
            labels.iter().any(|t| t == expected),
            "missing {expected:?} in {labels:?}"
        );
    }
}

#[test]
fn histogram_draws_positive_bins_and_the_threshold() {
    let svg = render_histogram(&histogram_fixture()).unwrap();
    let doc = parse(&svg);
    let bars = count_with(&doc, "rect", "fill", &upper_hex(Colour::PRIMARY));
    assert_eq!(bars, 4, "6 bins: one empty, one NaN");
    let marker = count_with(&doc, "polyline", "stroke", &upper_hex(Colour::DANGER));
    assert!(marker >= 3, "dashed SLA line: {marker} segments");
    assert!(texts(&doc).iter().any(|t| t == "SLA 2,000 ms"));
}

#[test]
fn histogram_bins_raw_values() {
    let values: Vec<f64> = (0..100).map(f64::from).chain([f64::NAN, f64::NEG_INFINITY]).collect();
    let svg = render_histogram(&Histogram {
        title: "Raw".into(),
        data: HistogramData::Raw { values, bins: 10 },
        ..Default::default()
    })
    .unwrap();
    let doc = parse(&svg);
    assert_eq!(count_with(&doc, "rect", "fill", &upper_hex(Colour::PRIMARY)), 10);
}

#[test]
fn scatter_draws_one_circle_per_finite_point_coloured_by_category() {
    let svg = render_scatter_chart(&scatter_fixture()).unwrap();
    let doc = parse(&svg);
    let circles = elements(&doc, "circle");
    assert_eq!(circles.len(), 4, "5 points, one NaN");
    let fills: Vec<_> = circles.iter().map(|n| n.attribute("fill").unwrap()).collect();
    let chat = upper_hex(Colour::series(0));
    assert_eq!(
        fills.iter().filter(|f| **f == chat).count(),
        2,
        "both chat points share a colour"
    );
    let labels = texts(&doc);
    for expected in [
        "Chat assistant",
        "Deep research",
        "Invest",
        "Sunset",
        "chat",
        "search",
        "docs",
    ] {
        assert!(
            labels.iter().any(|t| t == expected),
            "missing {expected:?} in {labels:?}"
        );
    }
    let quadrant_lines = count_with(&doc, "polyline", "stroke", &upper_hex(Colour::MUTED));
    assert!(quadrant_lines >= 2, "two dashed quadrant lines");
}

// ---- empty, NaN, errors, determinism --------------------------------------------------------

fn render_all_empty() -> Vec<String> {
    vec![
        render_line_chart(&LineChart {
            title: "t".into(),
            ..Default::default()
        })
        .unwrap(),
        render_bar_chart(&BarChart::default()).unwrap(),
        render_grouped_bar_chart(&GroupedBarChart::default()).unwrap(),
        render_stacked_area_chart(&StackedAreaChart::default()).unwrap(),
        render_heatmap(&Heatmap::default()).unwrap(),
        render_histogram(&Histogram::default()).unwrap(),
        render_scatter_chart(&ScatterChart::default()).unwrap(),
    ]
}

#[test]
fn empty_input_renders_a_no_data_note() {
    for svg in render_all_empty() {
        assert!(has_no_data_note(&svg), "{svg}");
    }
}

#[test]
fn all_nan_input_renders_a_no_data_note() {
    let nan = f64::NAN;
    let svgs = [
        render_line_chart(&LineChart {
            series: vec![LineSeries::new("a", vec![(X::Num(1.0), nan), (X::Num(nan), 2.0)])],
            bands: vec![Band::new("b", vec![(X::Num(1.0), nan, 1.0)])],
            ..Default::default()
        }),
        render_bar_chart(&BarChart {
            bars: vec![Bar::new("a", nan), Bar::new("b", f64::INFINITY)],
            ..Default::default()
        }),
        render_grouped_bar_chart(&GroupedBarChart {
            categories: vec!["a".into()],
            series: vec![BarSeries::new("s", vec![nan])],
            ..Default::default()
        }),
        render_heatmap(&Heatmap {
            columns: vec!["c".into()],
            rows: vec!["r".into()],
            values: vec![vec![nan]],
            ..Default::default()
        }),
        render_histogram(&Histogram {
            data: HistogramData::Raw {
                values: vec![nan, f64::INFINITY],
                bins: 4,
            },
            markers: vec![Marker::new(nan, "m")],
            ..Default::default()
        }),
        render_scatter_chart(&ScatterChart {
            points: vec![ScatterPoint::new(nan, 1.0)],
            ..Default::default()
        }),
    ];
    for svg in svgs {
        assert!(has_no_data_note(&svg.unwrap()));
    }
    // A stack of NaN counts as zeros: still a chart, with its layer.
    let svg = render_stacked_area_chart(&StackedAreaChart {
        dates: vec![day(1), day(2)],
        series: vec![AreaSeries::new("a", vec![nan, nan])],
        ..Default::default()
    })
    .unwrap();
    assert_eq!(elements(&parse(&svg), "polygon").len(), 1);
}

#[test]
fn single_values_and_flat_data_render() {
    let one_day = render_line_chart(&LineChart {
        series: vec![LineSeries::new("a", vec![(X::Date(day(1)), 0.0)])],
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        count_with(&parse(&one_day), "polyline", "stroke", &upper_hex(Colour::series(0))),
        1
    );
    let flat = render_heatmap(&Heatmap {
        columns: vec!["c".into()],
        rows: vec!["r".into()],
        values: vec![vec![5.0]],
        ..Default::default()
    })
    .unwrap();
    assert_eq!(elements(&parse(&flat), "rect").len(), 1 + 1 + 10);
}

#[test]
fn mismatched_lengths_and_mixed_axes_are_errors_naming_the_series() {
    let err = render_grouped_bar_chart(&GroupedBarChart {
        title: "Tiers".into(),
        categories: vec!["a".into(), "b".into()],
        series: vec![BarSeries::new("Revenue", vec![1.0])],
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "chart `Tiers`: series `Revenue` has 1 values, expected 2 (one per category)"
    );
    let err = render_stacked_area_chart(&StackedAreaChart {
        dates: vec![day(1)],
        series: vec![AreaSeries::new("OpenAI", vec![])],
        ..Default::default()
    })
    .unwrap_err();
    assert!(matches!(err, ChartError::LengthMismatch { per: "date", .. }), "{err}");
    let err = render_heatmap(&Heatmap {
        columns: vec!["c".into()],
        rows: vec!["r".into()],
        values: vec![vec![1.0, 2.0]],
        ..Default::default()
    })
    .unwrap_err();
    assert!(matches!(err, ChartError::LengthMismatch { per: "column", .. }), "{err}");
    let err = render_line_chart(&LineChart {
        title: "Mixed".into(),
        series: vec![
            LineSeries::new("dates", vec![(X::Date(day(1)), 1.0)]),
            LineSeries::new("numbers", vec![(X::Num(1.0), 1.0)]),
        ],
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("`numbers` mixes date and numeric"), "{err}");
    let err = render_bar_chart(&BarChart {
        size: ChartSize::new(10, 10),
        ..Default::default()
    })
    .unwrap_err();
    assert!(matches!(err, ChartError::TooSmall { .. }));
}

#[test]
fn titles_are_escaped_and_sizes_respected() {
    let svg = render_scatter_chart(&ScatterChart {
        title: "<script>&\"x\"".into(),
        points: vec![ScatterPoint::new(1.0, 1.0).label("a < b")],
        size: ChartSize::new(640, 480),
        ..Default::default()
    })
    .unwrap();
    let doc = parse(&svg);
    assert_eq!(title(&doc), "<script>&\"x\"");
    assert_eq!(doc.root_element().attribute("viewBox"), Some("0 0 640 480"));
    assert!(texts(&doc).iter().any(|t| t == "a < b"));
}
