/** The CUDA backend (JCuda driver API, JCublas where libcublas loads), found through ServiceLoader. */
module io.trillium.cuda {
    requires io.trillium.core;
    requires jcuda;
    requires jcublas;

    exports io.trillium.cuda;

    provides io.trillium.backend.BackendProvider with io.trillium.cuda.CudaBackendProvider;
}
