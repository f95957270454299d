/** ggml block formats, tensor views and the scalar and Vector API kernels that compute on them. */
module io.trillium.quant {
    requires jdk.incubator.vector;

    exports io.trillium.quant;
}
