// Runs Trillium's CUDA kernels on the host so that machines without a GPU test their logic: every
// .cu file is compiled by g++ with this header forced in. A launch runs the grid's blocks one after
// another; a block's threads are coroutines on the calling thread, switched at __syncthreads and at every
// warp shuffle, so barriers and shuffles keep their CUDA meaning (a thread that has returned no longer
// counts, as on the hardware). Threads left waiting with no way on (some at a shuffle, the others at
// __syncthreads or finished) fail the launch with a message instead of hanging.
// Not emulated, so not caught here: concurrency between blocks, atomics, memory-model effects, FMA
// contraction (nvcc contracts a*b+c by default, g++ does not: results differ in the last bits);
// divergent __syncthreads at different call sites (barriers carry no call site, so they merge); shuffle
// masks (a lane that has exited leaves its last value, where the hardware is undefined); uninitialised
// shared memory (zero or the previous block's values here, garbage on a GPU); misaligned loads (fine on
// x86, a fault on a GPU); out-of-bounds accesses (silent corruption here); launch limits other than
// those EmulatedGpu checks. Coroutine stacks are 64 KiB without a guard page.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

struct uint3 { unsigned int x, y, z; };
struct dim3 { unsigned int x, y, z; };

namespace emu {
struct Thread;
extern Thread* cur;                 // the coroutine running now
extern uint3 block_idx;
extern dim3 block_dim, grid_dim;
uint3& thread_idx();
int lane();
void warp_barrier();                // all live lanes of the current warp
void block_barrier();               // all live threads of the block
unsigned long long* warp_slots();   // 32 exchange slots of the current warp
void* dynamic_shared();

template <class T> T shfl_from(T v, int src) {
    static_assert(sizeof(T) <= 8, "shuffle of a type wider than 8 bytes");
    unsigned long long* s = warp_slots();
    unsigned long long w = 0;
    std::memcpy(&w, &v, sizeof(T));
    s[lane()] = w;
    warp_barrier();
    unsigned long long got = s[src & 31];
    warp_barrier();   // nobody writes its slot again before every lane has read
    T r;
    std::memcpy(&r, &got, sizeof(T));
    return r;
}

using Thunk = void (*)(void**);
struct Registrar {
    Registrar(const char* name, Thunk thunk);
};
template <class... A, std::size_t... I>
void invoke(void (*f)(A...), void** args, std::index_sequence<I...>) {
    f(*static_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(args[I])...);
}
template <class... A> void invoke(void (*f)(A...), void** args) {
    invoke(f, args, std::index_sequence_for<A...>{});
}
template <auto F> void thunk(void** args) { invoke(F, args); }
}  // namespace emu

#define __global__
#define __device__ static   // each .cu is its own module on the GPU: its helpers stay file-local here too
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define threadIdx (emu::thread_idx())
#define blockIdx (emu::block_idx)
#define blockDim (emu::block_dim)
#define gridDim (emu::grid_dim)
#define __syncthreads() emu::block_barrier()
#define __syncwarp(...) emu::warp_barrier()
#define TRILLIUM_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(emu::dynamic_shared())

using std::max;   // CUDA's integer min/max builtins
using std::min;
inline float __uint_as_float(unsigned int u) { float f; std::memcpy(&f, &u, 4); return f; }
inline unsigned int __float_as_uint(float f) { unsigned int u; std::memcpy(&u, &f, 4); return u; }
template <class T> T __shfl_xor_sync(unsigned, T v, int m, int = 32) { return emu::shfl_from(v, emu::lane() ^ m); }
template <class T> T __shfl_sync(unsigned, T v, int src, int = 32) { return emu::shfl_from(v, src); }
template <class T> T __shfl_down_sync(unsigned, T v, unsigned d, int = 32) {
    int src = emu::lane() + (int) d;
    T r = emu::shfl_from(v, src > 31 ? emu::lane() : src);
    return r;
}
