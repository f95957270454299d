/** JMH microbenchmarks of kernels and memory. */
module io.trillium.benchmarks {
    requires io.trillium.core;
    requires jmh.core;
    requires jdk.incubator.vector;
    requires jdk.jfr;
    requires jdk.management;
}
