/* Record layout shared by the BPF programs and recorder/ring-records.ts (which decodes it).
 * Every ring record starts with this 64-byte header; `nframes` user-stack addresses (u64 each)
 * may follow it. Keep the two sides in step: test/recorder-layout.test.ts checks the offsets. */
#ifndef INGERO_EVENT_H
#define INGERO_EVENT_H

#define INGERO_MAX_FRAMES 64

/* Ops outside the bundle catalog, used only between the BPF side and the recorder. */
#define INGERO_OP_TASK_NAME 0xffff /* pid/tid name a thread; arg0..arg1 hold its 16-byte comm */
#define INGERO_OP_CPU_SAMPLE 0xfffe /* a traced thread found on-CPU; arg0 = CPU; user stack follows */
#define INGERO_OP_MAPPING 0xfffd /* an exiting process's executable mapping; path follows (exit-mappings.bpf.c) */

/* Bits of `present`: which of arg[0..3] and ret carry a value. */
#define INGERO_HAS_ARG(i) (1u << (i))
#define INGERO_HAS_RET (1u << 4)

struct ingero_event {
	__u64 ts_ns;   /* CLOCK_BOOTTIME at the start of the event */
	__u64 dur_ns;  /* 0 for point events */
	__u32 pid;     /* tgid */
	__u32 tid;
	__u16 op;      /* bundle catalog op id, or INGERO_OP_* */
	__u8 present;
	__u8 nframes;  /* user-stack addresses following this header, leaf first */
	__s32 ret;
	__u64 arg[4];
};

/* Per-probe counters, one slot per attached probe (a per-CPU array; the recorder sums CPUs). */
struct ingero_probe_stats {
	__u64 emitted; /* records the probe tried to write */
	__u64 dropped; /* of those, records lost because the ring buffer was full */
};

#define INGERO_MAX_SLOTS 256
/* Counter slot of the thread-name records, in both objects. */
#define INGERO_SLOT_TASK_NAMES 255

#endif
