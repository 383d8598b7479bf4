# SPDX-License-Identifier: GPL-2.0
"""The in-tree users that forced crash_kexec_post_notifiers (Hyper-V, the
SEV-SNP host, powerpc fadump) now use their pre-kdump slots: nothing in the
tree, and nothing in the preprocessed sources of the kernels built with
the slots, sets the switch; the Hyper-V order passes its KUnit suite; a
kernel with all of them built in boots in QEMU, claims no slot it should
not, and still captures."""

import re

from . import build, common, qemu, scenario
from .common import run
from .report import expect

# An assignment, not a comparison, and not _crash_kexec_post_notifiers.
ASSIGNMENT = re.compile(r'(?<![\w.>])crash_kexec_post_notifiers\s*=(?!=)')

# The files that forced the switch in 6.12, and the hook each now registers.
FORCERS = {
	'drivers/hv/hv_common.c': 'PANIC_HOOK_HYPERV',
	'arch/x86/virt/svm/sev.c': None,       # the PSP driver's hook took over
	'drivers/crypto/ccp/sev-dev.c': 'PANIC_HOOK_SEV_SNP',
	'arch/powerpc/kernel/fadump.c': 'PANIC_HOOK_FADUMP',
}


def _assignments(tree, rev):
	"""'path:line' of every assignment to the switch in the C sources at rev."""
	proc = run(['git', '-C', tree, 'grep', '-n', '-P', ASSIGNMENT.pattern, rev, '--',
		    '*.c', '*.h'], check=False)
	return [ln for ln in proc.stdout.decode().splitlines() if ln]


def none_in_tree(tree):
	"""No C source of the series' tree assigns the switch; the same search
	finds the three forcers at base, so it can fail."""
	at_base = _assignments(tree, 'base')
	forcers = {p for p in FORCERS if any(f':{p}:' in ln for ln in at_base)}
	expect(len(forcers) == 3, f'the search finds {len(forcers)} of the 3 forcers at base: '
	       + '; '.join(at_base))
	now = _assignments(tree, 'HEAD')
	expect(not now, 'still assigned: ' + '; '.join(now))
	return f'none at HEAD; at base: {", ".join(sorted(forcers))}'


def none_preprocessed(kernel, files):
	"""The preprocessed files, as kernel's config builds them, assign the
	switch nowhere and register their hook."""
	make_arch, cross, _, _ = build.ARCHES[kernel.arch]
	targets = [str(f)[:-2] + '.i' for f in files]
	argv = ['make', '-C', kernel.srctree, f'O={kernel.out}', f'ARCH={make_arch}',
		f'-j{common.jobs()}', f'CC=ccache {cross}gcc', f'LOCALVERSION=-{kernel.name}']
	if cross:
		argv.append(f'CROSS_COMPILE={cross}')
	logfile = common.LOGS / f'preprocessed-{kernel.name}.log'
	run(argv + targets, logfile=logfile, env=build.BUILD_ENV)
	for f, target in zip(files, targets):
		text = (kernel.out / target).read_text(errors='replace')
		expect(not ASSIGNMENT.search(text), f'{target} assigns crash_kexec_post_notifiers',
		       kernel.out / target)
		hook = FORCERS.get(str(f))
		if hook:
			# Enumerators survive preprocessing: the slot is named.
			expect(re.search(rf'panic_hook_register\(\s*{hook}\b', text),
			       f'{target} does not register {hook}', kernel.out / target)
	return ' '.join(targets)


def expect_kunit_passed(out, suite):
	"""The KTAP a booted kernel printed says suite ran and passed."""
	log = out.rundir / 'serial.log'
	# KTAP lines, without the printk timestamps in front of them.
	text = '\n'.join(re.sub(r'^\[\s*[\d.]+\] ?', '', ln.text) for ln in out.lines)
	expect(f'# Subtest: {suite}' in text, f'the {suite} KUnit suite did not run', log)
	results = re.findall(rf'^\s*(not ok|ok) \d+ {suite}\s*$', text, re.M)
	expect(results == ['ok'], f'the {suite} KUnit suite did not pass: {results}', log)
	cases = len(re.findall(rf'^\s+ok \d+ {suite}_', text, re.M))
	expect(cases, f'no case of the {suite} KUnit suite passed', log)
	return f'{cases} cases passed'


def kunit_at_boot(g, suite='hv_panic'):
	"""A KUnit suite built into g passes when g boots."""
	m = scenario.machine(g, f'kunit-{suite}-{g.name}', 'idle', disk=False, timeout=120)
	return expect_kunit_passed(qemu.run(m, until=lambda q: q.seen('ph-init: idle')), suite)


def boots_and_captures_unclaimed(g):
	"""With Hyper-V and the SNP host built in but neither present, nothing
	claims their slots, and a panic is still captured."""
	out = qemu.run(scenario.machine(g, f'kdump-{g.name}', 'kdump'))
	d = scenario.expect_captured(out)
	info = out.rundir / 'vmcore.elf'
	expect('PANIC_HOOKS' in d.vmcoreinfo, 'VMCOREINFO of the dump has no PANIC_HOOKS line', info)
	record = d.vmcoreinfo['PANIC_HOOKS']
	expect(record == '', f'PANIC_HOOKS={record}: a slot was claimed off Hyper-V and SNP', info)
	return 'PANIC_HOOKS= (empty), dump saved'
