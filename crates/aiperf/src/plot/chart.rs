//! Charts drawn with plotters, each as an SVG string (for the report) and a PNG file. The font
//! is embedded (DejaVu Sans), so nothing depends on the fonts of the machine.

use std::path::Path;
use std::sync::Once;

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

/// One series of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Lower and upper bounds per point (a confidence band).
    pub band: Option<Vec<(f64, f64, f64)>>,
    pub style: Style,
}

#[derive(Debug, Clone, Copy, PartialEq)]
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
        }
    }

    pub fn points(name: &str, points: Vec<(f64, f64)>, style: Style) -> Self {
        Self {
            name: name.to_owned(),
            points,
            band: None,
            style,
        }
    }
}

/// A chart: title, axis labels, series, vertical and horizontal marker lines.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub vlines: Vec<(f64, String)>,
    pub hlines: Vec<(f64, String)>,
    pub log_x: bool,
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

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &Chart) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    area.fill(&WHITE).map_err(err)?;
    let ((x0, x1), (y0, y1)) = bounds(chart);
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(&chart.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64);
    if chart.log_x && x0 > 0.0 {
        let mut ctx = builder
            .build_cartesian_2d((x0.max(1e-9)..x1).log_scale(), y0..y1)
            .map_err(err)?;
        ctx.configure_mesh()
            .x_desc(&chart.x_label)
            .y_desc(&chart.y_label)
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        plot_series(&mut ctx, chart, (y0, y1)).map_err(err)
    } else {
        let mut ctx = builder.build_cartesian_2d(x0..x1, y0..y1).map_err(err)?;
        ctx.configure_mesh()
            .x_desc(&chart.x_label)
            .y_desc(&chart.y_label)
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        plot_series(&mut ctx, chart, (y0, y1)).map_err(err)
    }
}

fn plot_series<'a, DB: DrawingBackend + 'a, X: Ranged<ValueType = f64>>(
    ctx: &mut ChartContext<'a, DB, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>,
    chart: &Chart,
    (y0, y1): (f64, f64),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
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
            Style::Muted => ctx.draw_series(
                pts.iter()
                    .map(|p| Circle::new(*p, 4, RGBColor(170, 170, 170).filled())),
            )?,
        };
        let legend_color = match s.style {
            Style::Highlight => RED,
            Style::Muted => RGBColor(170, 170, 170),
            _ => color,
        };
        anno.label(&s.name).legend(move |(x, y)| {
            Rectangle::new([(x, y - 4), (x + 12, y + 4)], legend_color.filled())
        });
    }
    for (x, label) in &chart.vlines {
        ctx.draw_series(std::iter::once(PathElement::new(
            vec![(*x, y0), (*x, y1)],
            BLACK.mix(0.5).stroke_width(1),
        )))?
        .label(label)
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], BLACK.mix(0.5)));
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
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 13))
            .draw()?;
    }
    Ok(())
}

/// Draws `chart`, writes `<stem>.png` and `<stem>.svg` into `dir`, and returns the SVG text.
pub fn render(chart: &Chart, dir: &Path, stem: &str) -> Result<String, String> {
    register_font();
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&area, chart)?;
        area.present().map_err(|e| e.to_string())?;
    }
    std::fs::write(dir.join(format!("{stem}.svg")), &svg).map_err(|e| e.to_string())?;
    let png = dir.join(format!("{stem}.png"));
    {
        let area = BitMapBackend::new(&png, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&area, chart)?;
        area.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// A heat map of `grid[i][j]` over `x_axis[i]` × `y_axis[j]` (`None` cells left blank).
#[allow(clippy::too_many_arguments)] // the chart's parts; a struct for one call would add nothing
pub fn heatmap(
    title: &str,
    x_label: &str,
    y_label: &str,
    x_axis: &[f64],
    y_axis: &[f64],
    grid: &[Vec<Option<f64>>],
    dir: &Path,
    stem: &str,
) -> Result<String, String> {
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
    ) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        area.fill(&WHITE).map_err(err)?;
        let (nx, ny) = (axes.0.len(), axes.1.len());
        let mut ctx = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 20))
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
            .label_style(("sans-serif", 13))
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
                    format!("{v:.2}"),
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
        )?;
        area.present().map_err(|e| e.to_string())?;
    }
    std::fs::write(dir.join(format!("{stem}.svg")), &svg).map_err(|e| e.to_string())?;
    let png = dir.join(format!("{stem}.png"));
    {
        let area = BitMapBackend::new(&png, (WIDTH, HEIGHT)).into_drawing_area();
        draw_map(
            &area,
            title,
            (x_label, y_label),
            (x_axis, y_axis),
            grid,
            &color,
        )?;
        area.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}
