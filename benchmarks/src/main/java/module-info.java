/** JMH microbenchmarks of kernels and memory. */
module io.trillium.benchmarks {
    requires io.trillium.core;
    requires jmh.core;
    requires commons.math3;
    requires com.fasterxml.jackson.databind;
    requires jdk.incubator.vector;
    requires jdk.jfr;
    requires jdk.management;
}
