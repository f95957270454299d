/** The CUDA backend (JCuda / JCublas). */
module io.trillium.cuda {
    requires io.trillium.core;
    requires jcuda;
    requires jcublas;

    exports io.trillium.cuda;
}
