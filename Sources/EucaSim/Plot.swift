import EucaCore
import Foundation

/// Line charts as SVG, written by hand: no plotting library, no Python. The same series give the
/// same bytes.
public struct LineChart: Sendable, Hashable {
    public struct Series: Sendable, Hashable {
        public var label: String
        public var points: [(x: Double, y: Double)]

        public init(label: String, points: [(x: Double, y: Double)]) {
            self.label = label
            self.points = points
        }

        public static func == (a: Series, b: Series) -> Bool {
            a.label == b.label && a.points.count == b.points.count && zip(a.points, b.points).allSatisfy { $0.x == $1.x && $0.y == $1.y }
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(label)
            for point in points {
                hasher.combine(point.x)
                hasher.combine(point.y)
            }
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    /// Colour-blind-safe colours (Okabe and Ito's), one per series in turn.
    static let colours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

    /// Where everything goes on the 800 × 420 page: one layout for the SVG and the PNG.
    struct Layout {
        let width = 800.0, height = 420.0
        let left = 80.0, right = 180.0, top = 40.0, bottom = 60.0
        let plotWidth: Double, plotHeight: Double
        let xAxis: (low: Double, high: Double, ticks: [Double])
        let yAxis: (low: Double, high: Double, ticks: [Double])

        init(_ series: [Series]) {
            plotWidth = width - left - right
            plotHeight = height - top - bottom
            let xs = series.flatMap { $0.points.map(\.x) }, ys = series.flatMap { $0.points.map(\.y) }
            xAxis = LineChart.axis(low: xs.min() ?? 0, high: xs.max() ?? 1)
            yAxis = LineChart.axis(low: min(0, ys.min() ?? 0), high: ys.max() ?? 1)
        }

        func px(_ x: Double) -> Double { left + (x - xAxis.low) / (xAxis.high - xAxis.low) * plotWidth }
        func py(_ y: Double) -> Double { top + plotHeight - (y - yAxis.low) / (yAxis.high - yAxis.low) * plotHeight }
        /// The legend's line for the series at `index`.
        func legendY(_ index: Int) -> Double { top + 10 + Double(index) * 20 }
    }

    /// The chart as a PNG image, 800 × 420: the SVG's layout, drawn here.
    public var png: [UInt8] {
        let layout = Layout(series)
        let (left, top, plotWidth, plotHeight) = (layout.left, layout.top, layout.plotWidth, layout.plotHeight)
        var canvas = Canvas(width: Int(layout.width), height: Int(layout.height))
        let grid = Canvas.rgb("#e0e0e0"), frame = Canvas.rgb("#404040")
        canvas.text(title, x: left, y: 20)
        for tick in layout.xAxis.ticks {
            let x = layout.px(tick)
            canvas.line(x, top, x, top + plotHeight, grid)
            canvas.text(Self.label(tick), x: x, y: top + plotHeight + 16, anchor: .middle)
        }
        for tick in layout.yAxis.ticks {
            let y = layout.py(tick)
            canvas.line(left, y, left + plotWidth, y, grid)
            canvas.text(Self.label(tick), x: left - 8, y: y, anchor: .end)
        }
        canvas.line(left, top, left + plotWidth, top, frame)
        canvas.line(left, top + plotHeight, left + plotWidth, top + plotHeight, frame)
        canvas.line(left, top, left, top + plotHeight, frame)
        canvas.line(left + plotWidth, top, left + plotWidth, top + plotHeight, frame)
        canvas.text(xLabel, x: left + plotWidth / 2, y: layout.height - 16, anchor: .middle)
        canvas.text(yLabel, x: 20, y: top + plotHeight / 2, anchor: .middle, vertical: true)
        for (index, line) in series.enumerated() {
            let colour = Canvas.rgb(Self.colours[index % Self.colours.count])
            for (a, b) in zip(line.points, line.points.dropFirst()) {
                canvas.line(layout.px(a.x), layout.py(a.y), layout.px(b.x), layout.py(b.y), colour, thickness: 2)
            }
            if line.points.count == 1, let only = line.points.first {
                canvas.line(layout.px(only.x), layout.py(only.y), layout.px(only.x), layout.py(only.y), colour, thickness: 2)
            }
            let y = layout.legendY(index)
            canvas.line(left + plotWidth + 16, y, left + plotWidth + 40, y, colour, thickness: 3)
            canvas.text(line.label, x: left + plotWidth + 46, y: y)
        }
        return canvas.png
    }

    /// The chart as an SVG document, 800 × 420.
    public var svg: String {
        let layout = Layout(series)
        let (width, height, left, top) = (layout.width, layout.height, layout.left, layout.top)
        let (plotWidth, plotHeight, xAxis, yAxis) = (layout.plotWidth, layout.plotHeight, layout.xAxis, layout.yAxis)
        let px = layout.px, py = layout.py

        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(Self.n(left))\" y=\"24\" font-size=\"16\">\(Self.escape(title))</text>\n"
        for tick in xAxis.ticks {
            let x = Self.n(px(tick))
            out += "<line x1=\"\(x)\" y1=\"\(Self.n(top))\" x2=\"\(x)\" y2=\"\(Self.n(top + plotHeight))\" stroke=\"#e0e0e0\"/>\n"
            out += "<text x=\"\(x)\" y=\"\(Self.n(top + plotHeight + 18))\" text-anchor=\"middle\">\(Self.label(tick))</text>\n"
        }
        for tick in yAxis.ticks {
            let y = Self.n(py(tick))
            out += "<line x1=\"\(Self.n(left))\" y1=\"\(y)\" x2=\"\(Self.n(left + plotWidth))\" y2=\"\(y)\" stroke=\"#e0e0e0\"/>\n"
            out += "<text x=\"\(Self.n(left - 8))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(Self.label(tick))</text>\n"
        }
        out += "<rect x=\"\(Self.n(left))\" y=\"\(Self.n(top))\" width=\"\(Self.n(plotWidth))\" height=\"\(Self.n(plotHeight))\" fill=\"none\" stroke=\"#404040\"/>\n"
        out += "<text x=\"\(Self.n(left + plotWidth / 2))\" y=\"\(Self.n(height - 16))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        out += "<text transform=\"translate(20 \(Self.n(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"
        for (index, line) in series.enumerated() {
            let colour = Self.colours[index % Self.colours.count]
            let points = line.points.map { "\(Self.n(px($0.x))),\(Self.n(py($0.y)))" }.joined(separator: " ")
            out += "<polyline class=\"series\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" points=\"\(points)\"/>\n"
            let y = Self.n(layout.legendY(index))
            out += "<line x1=\"\(Self.n(left + plotWidth + 16))\" y1=\"\(y)\" x2=\"\(Self.n(left + plotWidth + 40))\" y2=\"\(y)\" stroke=\"\(colour)\" stroke-width=\"3\"/>\n"
            out += "<text x=\"\(Self.n(left + plotWidth + 46))\" y=\"\(y)\" dominant-baseline=\"middle\">\(Self.escape(line.label))</text>\n"
        }
        out += "</svg>\n"
        return out
    }

    /// An axis from `low` to `high` widened to round ticks: 1, 2 or 5 times a power of ten apart,
    /// about five of them.
    static func axis(low: Double, high: Double) -> (low: Double, high: Double, ticks: [Double]) {
        var (low, high) = (low, high)
        // A span too small to divide into ticks is widened to 1.
        if !(high - low >= 1e-9) { high = low + 1 }
        let raw = (high - low) / 5
        let power = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
        low = (low / step).rounded(.down) * step
        high = (high / step).rounded(.up) * step
        let count = Int(((high - low) / step).rounded())
        return (low, high, (0...count).map { low + Double($0) * step })
    }

    /// A tick's label: short, without float noise (0.30000000000000004 is 0.3).
    static func label(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 1_000_000 { return trimmed(value / 1_000_000) + "M" }
        if magnitude >= 10_000 { return trimmed(value / 1_000) + "k" }
        return trimmed(value)
    }

    private static func trimmed(_ value: Double) -> String {
        var text = String(format: "%.4f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }

    /// A coordinate, to a tenth of a pixel.
    static func n(_ value: Double) -> String { trimmed((value * 10).rounded() / 10) }

    static func escape(_ text: String) -> String { TextEscaping.xml(text) }
}

/// The charts `euca-sim plot` draws from runs' CSV files (``Simulator/Sample/csvHeader``),
/// every run overlaid on each.
public enum SimPlots {
    /// One run's rows, by column name.
    public struct Run: Sendable {
        public var label: String
        public var columns: [String: [Double]]

        /// Whether this is a run's distributions (`--cdf`) rather than its states over time (`--csv`).
        public var isDistribution: Bool { columns["quantile"] != nil }

        /// Reads a CSV `euca-sim run --csv` or `--cdf` wrote; the reason when it is neither.
        public static func parse(_ text: String, label: String) -> Result<Run, PlotError> {
            var lines = text.split(whereSeparator: \.isNewline).map(String.init)
            guard !lines.isEmpty else { return .failure(PlotError(reason: "the file is empty")) }
            let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let states = header.first == "time_s" && Set(header).isSuperset(of: ["running", "active_hosts", "core_allocation"])
            let distributions = header.first == "quantile" && header.contains("wait_s")
            guard states || distributions else {
                return .failure(PlotError(reason: "line 1 is not euca-sim's CSV header (time_s,running,… or quantile,wait_s,…)"))
            }
            guard Set(header).count == header.count else { return .failure(PlotError(reason: "line 1 names a column twice")) }
            var columns = Dictionary(uniqueKeysWithValues: header.map { ($0, [Double]()) })
            for (index, line) in lines.enumerated() {
                let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                guard fields.count == header.count else {
                    return .failure(PlotError(reason: "line \(index + 2) has \(fields.count) fields, not \(header.count)"))
                }
                for (name, field) in zip(header, fields) {
                    // An empty field (power without a model) is no point at all.
                    if field.isEmpty { continue }
                    guard let value = Double(field), abs(value) <= 1e15 else {
                        return .failure(PlotError(reason: "line \(index + 2): \(name) is not a number from -10^15 to 10^15"))
                    }
                    columns[name]?.append(value)
                }
            }
            return .success(Run(label: label, columns: columns))
        }
    }

    public struct PlotError: Error, Sendable {
        public var reason: String
    }

    /// The charts for `runs`, by file name: from states over time, utilization, active hosts,
    /// arrivals accepted and rejected so far, and power where a run has it; from distributions,
    /// the CDFs of launch waits and of decision latencies (where a run timed them).
    public static func charts(_ runs: [Run]) -> [(name: String, chart: LineChart)] {
        timeCharts(runs.filter { !$0.isDistribution }) + distributionCharts(runs.filter(\.isDistribution))
    }

    /// A series per run that has both columns in full: `x` (divided by `xScale`) against `y`.
    static func series(_ runs: [Run], x: String, y: String, xScale: Double = 1, suffix: String = "") -> [LineChart.Series] {
        runs.compactMap { run in
            guard let xs = run.columns[x], let ys = run.columns[y], xs.count == ys.count, !xs.isEmpty else { return nil }
            return LineChart.Series(label: run.label + suffix, points: zip(xs, ys).map { ($0 / xScale, $1) })
        }
    }

    static func distributionCharts(_ runs: [Run]) -> [(name: String, chart: LineChart)] {
        func series(_ column: String) -> [LineChart.Series] { Self.series(runs, x: column, y: "quantile") }
        var charts: [(String, LineChart)] = []
        let waits = series("wait_s")
        if !waits.isEmpty {
            charts.append(("wait-cdf.svg", LineChart(
                title: "Launches that waited at most x to start", xLabel: "wait, seconds", yLabel: "share of launches", series: waits)))
        }
        let decisions = series("decision_us")
        if !decisions.isEmpty {
            charts.append(("decision-cdf.svg", LineChart(
                title: "Decisions taken within x", xLabel: "decision latency, microseconds", yLabel: "share of decisions", series: decisions)))
        }
        return charts
    }

    static func timeCharts(_ runs: [Run]) -> [(name: String, chart: LineChart)] {
        guard !runs.isEmpty else { return [] }
        let span = runs.compactMap { $0.columns["time_s"]?.last }.max() ?? 0
        let (scale, unit) = span > 2 * 86_400 ? (86_400.0, "days") : span > 7_200 ? (3_600.0, "hours") : (1.0, "seconds")
        func series(_ column: String, _ suffix: String = "") -> [LineChart.Series] {
            Self.series(runs, x: "time_s", y: column, xScale: scale, suffix: suffix)
        }
        let x = "simulated \(unit)"
        var charts: [(String, LineChart)] = [
            ("utilization.svg", LineChart(title: "Share of all cores allocated", xLabel: x, yLabel: "core allocation", series: series("core_allocation"))),
            ("active-hosts.svg", LineChart(title: "Hosts running at least one VM", xLabel: x, yLabel: "hosts", series: series("active_hosts"))),
            ("arrivals.svg", LineChart(
                title: "Arrivals accepted and rejected so far", xLabel: x, yLabel: "VMs",
                series: series("accepted_total", " accepted") + series("rejected_total", " rejected"))),
        ]
        let power = series("power_w")
        if !power.isEmpty { charts.append(("power.svg", LineChart(title: "Power drawn by all hosts", xLabel: x, yLabel: "watts", series: power))) }
        return charts
    }
}
