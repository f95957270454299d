package io.trillium.cli;

import org.apache.commons.math3.distribution.TDistribution;
import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;
import org.apache.commons.math3.stat.descriptive.rank.Median;

import java.util.Arrays;
import java.util.Locale;

/**
 * The spread of a benchmark figure over its repeats: the median (the figure reported), min–max, and
 * the 95 % confidence interval of the mean (Student's t, n - 1 degrees of freedom; none for one run).
 */
record Spread(int n, double median, double min, double max, double mean, double ciLow, double ciHigh) {

    static Spread of(double[] samples) {
        if (samples.length == 0) {
            throw new IllegalArgumentException("no samples");
        }
        DescriptiveStatistics s = new DescriptiveStatistics(samples);
        double median = new Median().evaluate(samples);
        double lo = Double.NaN, hi = Double.NaN;
        if (samples.length > 1) {
            double t = new TDistribution(samples.length - 1).inverseCumulativeProbability(0.975);
            double half = t * s.getStandardDeviation() / Math.sqrt(samples.length);
            lo = s.getMean() - half;
            hi = s.getMean() + half;
        }
        return new Spread(samples.length, median, s.getMin(), s.getMax(), s.getMean(), lo, hi);
    }

    /** "median 12.34 of 3 runs, min-max 12.10-12.50, 95% CI 11.90-12.80" (no CI for one run). */
    String format(String unit) {
        String ci = Double.isNaN(ciLow) ? "no CI from one run"
                : String.format(Locale.ROOT, "95%% CI of the mean %.2f-%.2f", ciLow, ciHigh);
        return String.format(Locale.ROOT, "median %.2f %s of %d runs, min-max %.2f-%.2f, %s", median, unit, n, min, max, ci);
    }

    static String samples(double[] v) {
        StringBuilder b = new StringBuilder();
        Arrays.stream(v).forEach(x -> b.append(b.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "%.3f", x)));
        return b.toString();
    }
}
