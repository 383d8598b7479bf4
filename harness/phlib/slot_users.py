# SPDX-License-Identifier: GPL-2.0
"""The in-tree users that forced crash_kexec_post_notifiers (Hyper-V, the
SEV-SNP host, powerpc fadump) now use their pre-kdump slots: nothing in the
tree, and nothing in the preprocessed sources of the kernels built with
them, sets the switch, and the preprocessed drivers register their slot;
a kernel with all of them built boots in QEMU, claims no slot it should
not, and still captures."""

import re

from pathlib import Path

from . import common, kernels, qemu, scenario
from .common import run
from .context import Context
from .report import expect

# An assignment, not a comparison, and not _crash_kexec_post_notifiers; in
# the source also WRITE_ONCE(), and in preprocessed text what WRITE_ONCE()
# becomes: *(volatile typeof(x) *)&(x) = (val).
ASSIGNMENT = re.compile(r'(?<![\w.>])crash_kexec_post_notifiers\s*=(?!=)'
			r'|WRITE_ONCE\(\s*crash_kexec_post_notifiers\b'
			r'|&\(\s*crash_kexec_post_notifiers\s*\)\s*=(?!=)')

# The files that forced the switch in 6.12.
FORCERS = ('drivers/hv/hv_common.c', 'arch/x86/virt/svm/sev.c', 'arch/powerpc/kernel/fadump.c')
# The files that now register a slot instead, and the slot.
REGISTRANTS = {
	'drivers/hv/vmbus_drv.c': 'PANIC_HOOK_HYPERV',
	'drivers/crypto/ccp/sev-dev.c': 'PANIC_HOOK_SEV_SNP',
	'arch/powerpc/kernel/fadump.c': 'PANIC_HOOK_FADUMP',
}


def _assignments(tree: Path, rev: str) -> list[str]:
	"""'path:line' of every assignment to the switch in the C sources at rev."""
	proc = run(['git', '-C', tree, 'grep', '-n', '-P', ASSIGNMENT.pattern, rev, '--',
		    '*.c', '*.h'], check=False)
	return [ln for ln in proc.stdout.decode().splitlines() if ln]


def none_in_tree(tree: Path) -> str:
	"""No C source of the series' tree assigns the switch; the same search
	finds the three forcers at base, so it can fail."""
	at_base = _assignments(tree, 'base')
	forcers = {p for p in FORCERS if any(f':{p}:' in ln for ln in at_base)}
	expect(len(forcers) == 3, f'the search finds {len(forcers)} of the 3 forcers at base: '
	       + '; '.join(at_base))
	now = _assignments(tree, 'HEAD')
	expect(not now, 'still assigned: ' + '; '.join(now))
	return f'none at HEAD; at base: {", ".join(sorted(forcers))}'


def none_preprocessed(ctx: Context, kernel: str, files: list[str]) -> str:
	"""The preprocessed files, as kernel's config builds them, assign the
	switch nowhere, and the slot users among them register their slot."""
	k = ctx.kernel(kernel)
	targets = [f[:-2] + '.i' for f in files]
	# Removed first: a .i left by an earlier run must not stand in for one
	# that make did not write.
	for target in targets:
		(k.out / target).unlink(missing_ok=True)
	kernels.make(k, *targets, logfile=common.LOGS / f'preprocessed-{k.name}.log')
	missing = [t for t in targets if not (k.out / t).exists()]
	expect(not missing, f'make did not write {" ".join(missing)}')
	for f, target in zip(files, targets):
		text = (k.out / target).read_text(errors='replace')
		expect(not ASSIGNMENT.search(text), f'{target} assigns crash_kexec_post_notifiers',
		       k.out / target)
		slot = REGISTRANTS.get(f)
		if slot:
			# Enumerators survive preprocessing: the slot is named.
			expect(re.search(rf'panic_hook_register\(\s*{slot}\b', text),
			       f'{target} does not register {slot}', k.out / target)
	return ' '.join(targets)


def boots_and_captures_unclaimed(ctx: Context) -> str:
	"""With Hyper-V, the PSP driver and pvpanic built as modules, none
	loaded and no pvpanic device, nothing claims a slot, and a panic is
	still captured."""
	g = ctx.guest('x86_64-modules')
	out = qemu.run(scenario.machine(g, 'kdump-unclaimed', 'kdump', disk=True, pvpanic=False))
	d = scenario.expect_captured(out)
	expect('PANIC_HOOKS' in d.vmcoreinfo, 'VMCOREINFO of the dump has no PANIC_HOOKS line',
	       d.vmcore)
	record = d.vmcoreinfo['PANIC_HOOKS']
	expect(record == '', f'PANIC_HOOKS={record}: a slot was claimed', d.vmcore)
	return 'PANIC_HOOKS= (empty), dump saved'
