/* bpf_cookie layout of the CUDA probes; recorder/probe-cookie.ts encodes the same layout.
 *   bits  0..15  op id (bundle catalog)
 *   bits 16..23  counter slot in probe_stats
 *   bits 24..55  where arg0..arg3 come from, one byte each (ARG_*)
 *   bit  56      capture the user stack */
#ifndef INGERO_COOKIE_H
#define INGERO_COOKIE_H

#define COOKIE_OP(c) ((__u32)((c) & 0xffff))
#define COOKIE_SLOT(c) ((__u32)(((c) >> 16) & 0xff))
#define COOKIE_ARG(c, i) ((__u32)(((c) >> (24 + 8 * (i))) & 0xff))
#define COOKIE_STACK(c) (((c) >> 56) & 1)

/* Argument sources (System V x86-64 calling convention). */
#define ARG_NONE 0x00
#define ARG_REG(n) (n)              /* n = 1..6: rdi, rsi, rdx, rcx, r8, r9 */
#define ARG_STACK(k) (0x10 + (k))   /* k = 1..4: k-th argument passed on the stack */
#define ARG_KIND_DEFAULT 0x20       /* constant 4: copy direction inferred from pointers */
#define ARG_R5_TIMES_R6 0x21        /* r8 * r9: bytes of a 2D copy (width * height) */
#define ARG_RT_GRID 0x30            /* cudaLaunchKernel gridDim (dim3 by value) */
#define ARG_RT_BLOCK 0x31           /* cudaLaunchKernel blockDim */
#define ARG_DRV_GRID 0x32           /* cuLaunchKernel gridDimX..Z */
#define ARG_DRV_BLOCK 0x33          /* cuLaunchKernel blockDimX..Z */
#define ARG_CFG_GRID 0x34           /* cudaLaunchKernelExC: config->gridDim (config in rdi) */
#define ARG_CFG_BLOCK 0x35          /* config->blockDim */
#define ARG_CFG_STREAM 0x36         /* config->stream */
#define ARG_OUT_PTR(n) (0x40 + (n)) /* u64 stored at register n's pointer, read at return */

#endif
