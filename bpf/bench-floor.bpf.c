// SPDX-License-Identifier: GPL-2.0
/* The floor of bench/record.ts: a uprobe and a uretprobe that do nothing. What a traced call
 * costs under these is what any uprobe-based tracer pays before doing any work; ingero's added
 * cost per call is measured against it in the same run. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("uprobe")
int floor_enter(void *ctx)
{
	return 0;
}

SEC("uretprobe")
int floor_return(void *ctx)
{
	return 0;
}
