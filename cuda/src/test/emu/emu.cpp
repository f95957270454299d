// The emulator's runtime (see emu.h): kernel registry, launches, coroutine scheduling of a block's threads.
#include "emu.h"
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>
#include <sys/mman.h>

// Coroutine switch for x86-64 System V: pushes the callee-saved registers on the current stack, saves
// its pointer in *from, continues on `to` (ucontext's swapcontext would make two signal-mask system
// calls per switch, and a block switches at every shuffle of every thread).
extern "C" void emu_switch(void** from, void* to);
asm(R"(
    .text
    .globl emu_switch
    .hidden emu_switch
    .type emu_switch, @function
emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_switch, .-emu_switch
)");

namespace emu {
enum State { RUNNABLE, AT_WARP, AT_BLOCK, DONE };

struct Thread {
    void* sp;
    uint3 tid;
    int linear;
    State state;
};

Thread* cur;
uint3 block_idx;
dim3 block_dim, grid_dim;

namespace {
constexpr size_t STACK = 64 * 1024;
constexpr int MAX_THREADS = 1024;
void* scheduler;
std::vector<Thread> threads(MAX_THREADS);
std::vector<unsigned long long> slots(MAX_THREADS);
char* stacks;
std::vector<char> dyn_shared;
Thunk running;
void** running_args;
std::mutex launch_lock;
std::string last_error;

std::map<std::string, Thunk>& registry() {
    static std::map<std::string, Thunk> r;
    return r;
}

[[noreturn]] void entry() {
    running(running_args);
    cur->state = DONE;
    void* dead;
    emu_switch(&dead, scheduler);   // never resumed
    __builtin_unreachable();
}

void suspend(State s) {
    cur->state = s;
    emu_switch(&cur->sp, scheduler);
}

// A fresh stack whose first switch "returns" into entry() with the stack aligned as after a call.
void* fresh_stack(int i) {
    uintptr_t top = reinterpret_cast<uintptr_t>(stacks + (size_t) (i + 1) * STACK) & ~(uintptr_t) 15;
    void** sp = reinterpret_cast<void**>(top);
    *--sp = nullptr;                                 // entry's (never used) return address
    *--sp = reinterpret_cast<void*>(&entry);         // where emu_switch's ret goes
    for (int r = 0; r < 6; r++) *--sp = nullptr;     // rbp rbx r12-r15
    return sp;
}

// Runs one block; false with last_error set when its threads can never all finish.
bool run_block(int n) {
    for (int i = 0; i < n; i++) {
        Thread& t = threads[i];
        t.linear = i;
        t.tid = uint3{(unsigned) (i % block_dim.x), (unsigned) ((i / block_dim.x) % block_dim.y),
                      (unsigned) (i / (block_dim.x * block_dim.y))};
        t.state = RUNNABLE;
        t.sp = fresh_stack(i);
    }
    int warps = (n + 31) / 32;
    for (;;) {
        for (int i = 0; i < n; i++) {
            if (threads[i].state == RUNNABLE) {
                cur = &threads[i];
                emu_switch(&scheduler, threads[i].sp);
            }
        }
        // Every thread is now waiting or done: release what can be released.
        bool released = false, anyLive = false;
        for (int w = 0; w < warps; w++) {
            int live = 0, waiting = 0;
            for (int i = 32 * w; i < n && i < 32 * w + 32; i++) {
                live += threads[i].state != DONE;
                waiting += threads[i].state == AT_WARP;
            }
            anyLive |= live > 0;
            if (live > 0 && waiting == live) {
                for (int i = 32 * w; i < n && i < 32 * w + 32; i++) threads[i].state = RUNNABLE;
                released = true;
            }
        }
        if (!anyLive) return true;
        if (released) continue;
        int live = 0, atBlock = 0;
        for (int i = 0; i < n; i++) {
            live += threads[i].state != DONE;
            atBlock += threads[i].state == AT_BLOCK;
        }
        if (atBlock == live) {
            for (int i = 0; i < n; i++)
                if (threads[i].state == AT_BLOCK) threads[i].state = RUNNABLE;
            continue;
        }
        char msg[256];
        snprintf(msg, sizeof msg,
                 "deadlock in block (%u,%u,%u): %d live threads, %d at __syncthreads, %d at a warp shuffle of a partly waiting warp",
                 block_idx.x, block_idx.y, block_idx.z, live, atBlock, live - atBlock);
        last_error = msg;
        return false;
    }
}
}  // namespace

Registrar::Registrar(const char* name, Thunk thunk) { registry()[name] = thunk; }

uint3& thread_idx() { return cur->tid; }
int lane() { return cur->linear & 31; }
void warp_barrier() { suspend(AT_WARP); }
void block_barrier() { suspend(AT_BLOCK); }
unsigned long long* warp_slots() { return slots.data() + (cur->linear & ~31); }
void* dynamic_shared() { return dyn_shared.data(); }
}  // namespace emu

extern "C" {
__attribute__((visibility("default"))) const char* emu_error() { return emu::last_error.c_str(); }

// Names of the registered kernels, space-separated.
__attribute__((visibility("default"))) const char* emu_kernels() {
    static std::string names;
    names.clear();
    for (auto& e : emu::registry()) names += (names.empty() ? "" : " ") + e.first;
    return names.c_str();
}

// 0: done; 1: no such kernel; 2: bad launch configuration; 3: deadlock (emu_error says where).
__attribute__((visibility("default"))) int emu_launch(const char* name, int gx, int gy, int gz, int bx, int by,
                                                      int bz, int sharedBytes, void** args) {
    using namespace emu;
    std::lock_guard<std::mutex> g(launch_lock);
    auto it = registry().find(name);
    if (it == registry().end()) {
        last_error = std::string("no kernel named ") + name;
        return 1;
    }
    long n = (long) bx * by * bz;
    if (gx <= 0 || gy <= 0 || gz <= 0 || n <= 0 || n > MAX_THREADS || sharedBytes < 0) {
        last_error = "bad launch configuration for " + std::string(name);
        return 2;
    }
    if (stacks == nullptr) {
        void* m = mmap(nullptr, STACK * MAX_THREADS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            last_error = "cannot map the coroutine stacks";
            return 2;
        }
        stacks = static_cast<char*>(m);
    }
    dyn_shared.assign((size_t) sharedBytes + 16, 0);
    running = it->second;
    running_args = args;
    grid_dim = dim3{(unsigned) gx, (unsigned) gy, (unsigned) gz};
    block_dim = dim3{(unsigned) bx, (unsigned) by, (unsigned) bz};
    for (int z = 0; z < gz; z++)
        for (int y = 0; y < gy; y++)
            for (int x = 0; x < gx; x++) {
                block_idx = uint3{(unsigned) x, (unsigned) y, (unsigned) z};
                if (!run_block((int) n)) return 3;
            }
    return 0;
}
}
