//! Charts drawn with plotters, each as an SVG string (for the report) and a PNG file. The font
//! is embedded (DejaVu Sans), so nothing depends on the fonts of the machine.

use std::path::PathBuf;
use std::sync::Once;

use serde::Serialize;

use super::Theme;

use plotters::coord::Shift;
use plotters::prelude::*;

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

pub const WIDTH: u32 = 800;
pub const HEIGHT: u32 = 450;

/// Where charts are written, and in which colours.
#[derive(Debug, Clone)]
pub struct Out {
    pub dir: PathBuf,
    pub theme: Theme,
}

/// One series of a chart.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Lower and upper bounds per point (a confidence band).
    pub band: Option<Vec<(f64, f64, f64)>>,
    pub style: Style,
    /// A label per point (e.g. the configuration it measured), or none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Style {
    Line,
    Points,
    /// Points drawn large and in a highlight colour.
    Highlight,
    /// Points drawn small and grey (e.g. dominated configurations).
    Muted,
}

impl Series {
    pub fn line(name: &str, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.to_owned(),
            points,
            band: None,
            style: Style::Line,
            labels: Vec::new(),
        }
    }

    pub fn points(name: &str, points: Vec<(f64, f64)>, style: Style) -> Self {
        Self {
            name: name.to_owned(),
            points,
            band: None,
            style,
            labels: Vec::new(),
        }
    }

    /// The same series with a label per point.
    pub fn labelled(mut self, labels: Vec<String>) -> Self {
        self.labels = labels;
        self
    }
}

/// A chart: title, axis labels, series, vertical and horizontal marker lines.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// The axes' units, for human-readable ticks ("ms", "requests/s", "tokens/s", "W", "%"
    /// or "" for plain numbers).
    pub x_unit: String,
    pub y_unit: String,
    pub series: Vec<Series>,
    pub vlines: Vec<(f64, String)>,
    pub hlines: Vec<(f64, String)>,
    pub log_x: bool,
    /// Charts with the same key share the hover position in the report (linked views).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sync: String,
}

impl Chart {
    /// Whether there is anything to draw: some finite point, and not every value zero (a
    /// metric the server never reported reads as a flat zero line).
    pub fn has_data(&self) -> bool {
        let ys = || {
            self.series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1))
                .filter(|y| y.is_finite())
        };
        ys().next().is_some() && ys().any(|y| y != 0.0)
    }
}

/// A value with SI prefixes and few digits, in `unit`: `1.2M tokens/s`, `0.35 s` for 350 ms
/// above a second, `87.5 ms`, `12 %`. Plain numbers below 10,000 keep up to three significant
/// digits.
pub fn human(v: f64, unit: &str) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let (v, unit) = match unit {
        "ms" if v.abs() >= 1000.0 => (v / 1000.0, "s"),
        "ns" if v.abs() >= 1e6 => (v / 1e6, "ms"),
        _ => (v, unit),
    };
    let a = v.abs();
    let (scaled, prefix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let digits = |x: f64| {
        let a = x.abs();
        let s = if a == 0.0 || a >= 100.0 {
            format!("{x:.0}")
        } else if a >= 10.0 {
            format!("{x:.1}")
        } else if a >= 1.0 {
            format!("{x:.2}")
        } else {
            format!("{x:.3}")
        };
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        }
    };
    let number = format!("{}{prefix}", digits(scaled));
    match unit {
        "" => number,
        "%" => format!("{number}%"),
        u => format!("{number} {u}"),
    }
}

/// Units short enough to repeat on every axis tick; longer ones go in the axis title.
fn short_unit(unit: &str) -> bool {
    matches!(unit, "ms" | "s" | "W" | "%")
}

/// An axis tick: the number with its SI prefix, and the unit when it is short.
pub fn tick(v: f64, unit: &str) -> String {
    human(v, if short_unit(unit) { unit } else { "" })
}

/// An axis title: the label, with a long unit in parentheses.
pub fn axis_title(label: &str, unit: &str) -> String {
    if unit.is_empty() || short_unit(unit) {
        label.to_owned()
    } else {
        format!("{label} ({unit})")
    }
}

/// Colours of the exported charts per theme: background, text and grid.
fn palette(theme: Theme) -> (RGBColor, RGBColor, RGBColor) {
    match theme {
        Theme::Light => (WHITE, RGBColor(34, 34, 34), RGBColor(220, 220, 220)),
        Theme::Dark => (
            RGBColor(24, 26, 31),
            RGBColor(225, 228, 232),
            RGBColor(60, 64, 72),
        ),
    }
}

const COLORS: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(214, 39, 40),
];

fn bounds(chart: &Chart) -> ((f64, f64), (f64, f64)) {
    let mut xs: Vec<f64> = Vec::new();
    let mut ys: Vec<f64> = Vec::new();
    for s in &chart.series {
        for (x, y) in &s.points {
            xs.push(*x);
            ys.push(*y);
        }
        for (x, lo, hi) in s.band.iter().flatten() {
            xs.push(*x);
            ys.push(*lo);
            ys.push(*hi);
        }
    }
    ys.extend(chart.hlines.iter().map(|h| h.0));
    xs.extend(chart.vlines.iter().map(|v| v.0));
    let range = |v: &[f64], floor_zero: bool| {
        let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() {
            return (0.0, 1.0);
        }
        let lo = if floor_zero && lo > 0.0 { 0.0 } else { lo };
        let pad = ((hi - lo).abs() * 0.05).max(1e-9);
        (lo - if floor_zero { 0.0 } else { pad }, hi + pad)
    };
    let (x0, x1) = range(&xs, false);
    let (y0, y1) = range(&ys, true);
    ((x0, x1), (y0, y1))
}

fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart,
    theme: Theme,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let (bg, fg, grid) = palette(theme);
    area.fill(&bg).map_err(err)?;
    let ((x0, x1), (y0, y1)) = bounds(chart);
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(&chart.title, ("sans-serif", 20).into_font().color(&fg))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(72);
    let x_fmt = |v: &f64| tick(*v, &chart.x_unit);
    let y_fmt = |v: &f64| tick(*v, &chart.y_unit);
    let (x_title, y_title) = (
        axis_title(&chart.x_label, &chart.x_unit),
        axis_title(&chart.y_label, &chart.y_unit),
    );
    let label_style = ("sans-serif", 13).into_font().color(&fg);
    macro_rules! mesh {
        ($ctx:expr) => {
            $ctx.configure_mesh()
                .x_desc(&x_title)
                .y_desc(&y_title)
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .label_style(label_style.clone())
                .axis_desc_style(label_style.clone())
                .axis_style(fg.mix(0.6))
                .bold_line_style(grid)
                .light_line_style(grid.mix(0.4))
                .draw()
                .map_err(err)?
        };
    }
    if chart.log_x && x0 > 0.0 {
        let mut ctx = builder
            .build_cartesian_2d((x0.max(1e-9)..x1).log_scale(), y0..y1)
            .map_err(err)?;
        mesh!(ctx);
        plot_series(&mut ctx, chart, (y0, y1), theme).map_err(err)
    } else {
        let mut ctx = builder.build_cartesian_2d(x0..x1, y0..y1).map_err(err)?;
        mesh!(ctx);
        plot_series(&mut ctx, chart, (y0, y1), theme).map_err(err)
    }
}

fn plot_series<'a, DB: DrawingBackend + 'a, X: Ranged<ValueType = f64>>(
    ctx: &mut ChartContext<'a, DB, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>,
    chart: &Chart,
    (y0, y1): (f64, f64),
    theme: Theme,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (bg, fg, _) = palette(theme);
    let muted = RGBColor(150, 150, 150);
    for (i, s) in chart.series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        if let Some(band) = &s.band {
            let mut poly: Vec<(f64, f64)> = band.iter().map(|(x, _, hi)| (*x, *hi)).collect();
            poly.extend(band.iter().rev().map(|(x, lo, _)| (*x, *lo)));
            ctx.draw_series(std::iter::once(Polygon::new(poly, color.mix(0.2).filled())))?;
        }
        let pts = s.points.clone();
        let anno = match s.style {
            Style::Line => {
                ctx.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?;
                ctx.draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled())))?
            }
            Style::Points => ctx.draw_series(
                pts.iter()
                    .map(|p| Circle::new(*p, 2, color.mix(0.6).filled())),
            )?,
            Style::Highlight => {
                ctx.draw_series(pts.iter().map(|p| Circle::new(*p, 6, RED.filled())))?
            }
            Style::Muted => {
                ctx.draw_series(pts.iter().map(|p| Circle::new(*p, 4, muted.filled())))?
            }
        };
        let legend_color = match s.style {
            Style::Highlight => RED,
            Style::Muted => muted,
            _ => color,
        };
        anno.label(&s.name).legend(move |(x, y)| {
            Rectangle::new([(x, y - 4), (x + 12, y + 4)], legend_color.filled())
        });
        let font = ("sans-serif", 12).into_font().color(&fg);
        ctx.draw_series(
            pts.iter()
                .zip(&s.labels)
                .map(|(p, l)| Text::new(l.clone(), *p, font.clone())),
        )?;
    }
    for (x, label) in &chart.vlines {
        ctx.draw_series(std::iter::once(PathElement::new(
            vec![(*x, y0), (*x, y1)],
            fg.mix(0.5).stroke_width(1),
        )))?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], fg.mix(0.5)));
    }
    for (y, label) in &chart.hlines {
        let xr = ctx.x_range();
        ctx.draw_series(std::iter::once(PathElement::new(
            vec![(xr.start, *y), (xr.end, *y)],
            RED.mix(0.7).stroke_width(2),
        )))?
        .label(label)
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], RED.mix(0.7)));
    }
    if chart.series.iter().any(|s| !s.name.is_empty())
        || !chart.vlines.is_empty()
        || !chart.hlines.is_empty()
    {
        ctx.configure_series_labels()
            .background_style(bg.mix(0.85))
            .border_style(fg.mix(0.3))
            .label_font(("sans-serif", 13).into_font().color(&fg))
            .draw()?;
    }
    Ok(())
}

/// Draws `chart` into `<stem>.png` and `<stem>.svg` under `out.dir`. A chart without data
/// (see [`Chart::has_data`]) is not drawn: `Ok(false)`.
pub fn render(chart: &Chart, out: &Out, stem: &str) -> Result<bool, String> {
    if !chart.has_data() {
        return Ok(false);
    }
    register_font();
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&area, chart, out.theme)?;
        area.present().map_err(|e| e.to_string())?;
    }
    std::fs::write(out.dir.join(format!("{stem}.svg")), &svg).map_err(|e| e.to_string())?;
    let png = out.dir.join(format!("{stem}.png"));
    {
        let area = BitMapBackend::new(&png, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&area, chart, out.theme)?;
        area.present().map_err(|e| e.to_string())?;
    }
    Ok(true)
}

/// A heat map of `grid[i][j]` over `x_axis[i]` × `y_axis[j]` (`None` cells left blank).
#[derive(Debug, Clone, Default)]
pub struct Heatmap {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_axis: Vec<f64>,
    pub y_axis: Vec<f64>,
    pub grid: Vec<Vec<Option<f64>>>,
}

/// Draws `map` into `<stem>.png` and `<stem>.svg` under `out.dir`.
pub fn heatmap(map: &Heatmap, out: &Out, stem: &str) -> Result<(), String> {
    let Heatmap {
        title,
        x_label,
        y_label,
        x_axis,
        y_axis,
        grid,
    } = map;
    register_font();
    let values: Vec<f64> = grid.iter().flatten().flatten().copied().collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let color = |v: f64| {
        let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
        RGBColor(
            (40.0 + 215.0 * t) as u8,
            (80.0 + 60.0 * (1.0 - t)) as u8,
            (200.0 * (1.0 - t)) as u8,
        )
    };
    fn draw_map<DB: DrawingBackend>(
        area: &DrawingArea<DB, Shift>,
        title: &str,
        labels: (&str, &str),
        axes: (&[f64], &[f64]),
        grid: &[Vec<Option<f64>>],
        color: &dyn Fn(f64) -> RGBColor,
        theme: Theme,
    ) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let (bg, fg, _) = palette(theme);
        area.fill(&bg).map_err(err)?;
        let (nx, ny) = (axes.0.len(), axes.1.len());
        let mut ctx = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 20).into_font().color(&fg))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..nx as f64, 0.0..ny as f64)
            .map_err(err)?;
        let xs = axes.0.to_vec();
        let ys = axes.1.to_vec();
        ctx.configure_mesh()
            .disable_mesh()
            .x_desc(labels.0)
            .y_desc(labels.1)
            .x_labels(nx + 1)
            .y_labels(ny + 1)
            .x_label_formatter(&|v| {
                xs.get(*v as usize)
                    .map_or(String::new(), |x| format!("{x}"))
            })
            .y_label_formatter(&|v| {
                ys.get(*v as usize)
                    .map_or(String::new(), |y| format!("{y}"))
            })
            .label_style(("sans-serif", 13).into_font().color(&fg))
            .axis_desc_style(("sans-serif", 13).into_font().color(&fg))
            .draw()
            .map_err(err)?;
        for (i, row) in grid.iter().enumerate() {
            for (j, cell) in row.iter().enumerate() {
                let Some(v) = cell else { continue };
                let (x, y) = (i as f64, j as f64);
                ctx.draw_series(std::iter::once(Rectangle::new(
                    [(x, y), (x + 1.0, y + 1.0)],
                    color(*v).filled(),
                )))
                .map_err(err)?;
                ctx.draw_series(std::iter::once(Text::new(
                    human(*v, ""),
                    (x + 0.3, y + 0.5),
                    ("sans-serif", 13).into_font().color(&WHITE),
                )))
                .map_err(err)?;
            }
        }
        Ok(())
    }
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw_map(
            &area,
            title,
            (x_label, y_label),
            (x_axis, y_axis),
            grid,
            &color,
            out.theme,
        )?;
        area.present().map_err(|e| e.to_string())?;
    }
    std::fs::write(out.dir.join(format!("{stem}.svg")), &svg).map_err(|e| e.to_string())?;
    let png = out.dir.join(format!("{stem}.png"));
    {
        let area = BitMapBackend::new(&png, (WIDTH, HEIGHT)).into_drawing_area();
        draw_map(
            &area,
            title,
            (x_label, y_label),
            (x_axis, y_axis),
            grid,
            &color,
            out.theme,
        )?;
        area.present().map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_in_human_units() {
        assert_eq!(human(1_200_000.0, "tokens/s"), "1.2M tokens/s");
        assert_eq!(human(350.0, "ms"), "350 ms");
        assert_eq!(human(1500.0, "ms"), "1.5 s");
        assert_eq!(human(87.5, "ms"), "87.5 ms");
        assert_eq!(human(0.0, "requests/s"), "0 requests/s");
        assert_eq!(human(12.345, ""), "12.3");
        assert_eq!(human(3.0, ""), "3");
        assert_eq!(human(0.0123, ""), "0.012");
        assert_eq!(human(25_000.0, ""), "25k");
        assert_eq!(human(2.5e9, "tokens"), "2.5G tokens");
        assert_eq!(human(42.0, "%"), "42%");
        assert_eq!(human(f64::NAN, "ms"), "–");
        assert_eq!(human(-1500.0, "ms"), "-1.5 s");
    }

    #[test]
    fn long_units_go_to_the_axis_title() {
        assert_eq!(tick(1_200_000.0, "tokens/s"), "1.2M");
        assert_eq!(tick(2000.0, "ms"), "2 s");
        assert_eq!(
            axis_title("throughput", "tokens/s"),
            "throughput (tokens/s)"
        );
        assert_eq!(axis_title("latency", "ms"), "latency");
    }

    #[test]
    fn a_chart_of_zeros_or_nothing_has_no_data() {
        let mut chart = Chart {
            series: vec![Series::line("a", vec![(1.0, 0.0), (2.0, 0.0)])],
            ..Chart::default()
        };
        assert!(!chart.has_data());
        chart.series.push(Series::line("b", vec![(1.0, f64::NAN)]));
        assert!(!chart.has_data());
        chart.series.push(Series::line("c", vec![(1.0, 0.5)]));
        assert!(chart.has_data());
        assert!(!Chart::default().has_data());
    }
}
