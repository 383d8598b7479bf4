# SPDX-License-Identifier: GPL-2.0
"""The test command: every check, declared in one list, in the order they
run. A check is a name, the kernels it needs, and a function of the
context; kernels are built when a selected check first needs them, so
`-k PATTERN` builds only what its checks use."""

import fnmatch
import functools
import itertools
from concurrent.futures import ThreadPoolExecutor
import time
from dataclasses import dataclass
from typing import Any, Callable

from . import (bisect, common, distro, e2e, halt, kernels, kunit, lint, pvpanic, series, size_parts,
	       slot_users, source, style, torture, unit)
from .context import Context, Unavailable
from .report import FAIL, CheckFailed, Report, Result, Stages, expect


@dataclass
class Check:
	name: str
	fn: Callable[[Context], Any]
	needs: tuple[str, ...] = ()
	group: str = ''


def _applies(ctx: Context) -> str:
	"""patches/series applies to base, patch by patch, in a scratch index,
	and gives exactly build/linux's HEAD; base is the Debian source the
	series is based on."""
	based_on = source.SERIES_BASE
	expect(source.base_version(ctx.tree) == based_on,
	       f'build/linux base is Debian {source.base_version(ctx.tree)}, the series is based '
	       f'on linux-source-6.12 {based_on}: run harness/ph tree --force')
	patches = source.series_files()
	try:
		tree = source.series_tree(ctx.tree, patches)
	except source.PatchFailed as e:
		raise CheckFailed(str(e)) from e
	head = common.output(['git', '-C', ctx.tree, 'rev-parse', 'HEAD^{tree}'])
	expect(tree == head, 'patches/series applied to base does not give build/linux HEAD')
	return f'{len(patches)} patches on Debian {based_on}'


def _agree(ctx: Context) -> str:
	problems = series.disagreements(ctx.tree)
	expect(not problems, '\n     '.join(problems))
	return 'patches/ is build/linux base..HEAD, To/Cc and range-diff included'


def _unavailable(fn: Callable[[Context], Any]) -> Callable[[Context], Any]:
	def run(ctx: Context) -> Any:
		try:
			return fn(ctx)
		except Unavailable as e:
			raise CheckFailed(str(e)) from e
	return run


def _call(fn: Callable[..., Any], *args: Any) -> Callable[[Context], Any]:
	"""A check that needs no context: fn(*args)."""
	return lambda ctx: fn(*args)


def _with(fn: Callable[..., Any], *args: Any) -> Callable[[Context], Any]:
	"""A check of fn(ctx, *args)."""
	return lambda ctx: fn(ctx, *args)


def _verdict(judge: Callable[[Any], str], measure: Callable[..., Any],
	     *args: Any) -> Callable[[Context], str]:
	"""A check that measures, then judges the figures."""
	return lambda ctx: judge(measure(ctx, *args))


def _title(fn: Callable[..., Any]) -> str:
	"""A check's name from the first line of its function's docstring."""
	doc = ' '.join((fn.__doc__ or fn.__name__).split('\n\n')[0].split())
	return doc.split('. ')[0].rstrip('.')


def checks() -> list[Check]:
	"""Every check of the test command, in the order they run."""
	cs = [
		Check('harness: unit tests, mypy and flake8', lambda ctx: unit.run(), group='harness'),
		Check('series: applies', _applies, group='series'),
		Check('series: patches/ and build/linux agree', _agree, group='series'),
		Check('series: cover letter', lambda ctx: style.check_cover(
			common.PATCHES / series.COVER), group='series'),
		Check('series: fixes of 6.12 bugs come first and apply to base alone',
		      lambda ctx: style.fixes_first(series.parsed(), ctx.tree), group='series'),
	]
	for patch in source.series_files():
		cs.append(Check(f'form: {patch.name}', _call(style.check_form, patch), group='series'))
		cs.append(Check(f'checkpatch --strict: {patch.name}',
				_call(style.checkpatch, patch, common.KERNEL_TREE, common.LOGS),
				group='series'))
	cs += [
		Check('checkpatch: every exception still matches a finding',
		      lambda ctx: style.stale_exceptions(source.series_files(), ctx.tree, common.LOGS),
		      group='series'),
		Check('kernel-doc: no new warnings in touched files',
		      lambda ctx: style.kernel_doc(source.BUILD_TREE), group='series'),
		Check('size: the parts of the =y size breakdown match the hooks\' source',
		      lambda ctx: size_parts.match(size_parts.sources_at(kernels.HOOKS_TIP)),
		      group='series'),
		Check('slot users: no C source assigns crash_kexec_post_notifiers',
		      lambda ctx: slot_users.none_in_tree(ctx.tree), group='slot users'),
		Check('bisect: every prefix of the series builds (x86_64)', bisect.walk,
		      ('x86_64',), 'bisect'),
		Check('kunit: kernel/.kunitconfig on UML', kunit.run, group='kunit'),
	]
	for name, needs, fn in pvpanic.checks():
		cs.append(Check(name, fn, needs, 'pvpanic'))
	for kernel in ('x86_64', 'x86_64-unpatched', 'x86_64-hooks-off', 'x86_64-modules'):
		cs.append(Check(f'e2e kdump capture: {kernel}', _with(e2e.kdump_capture, kernel),
				(kernel,), 'kdump'))
	cs.append(Check('e2e kdump capture under KVM: x86_64', e2e.kdump_capture_kvm,
			('x86_64', 'x86_64-unpatched'), 'kdump'))
	hooks: list[Callable[[Context], str]] = [
		e2e.hook_runs_before_capture, e2e.hook_runs_before_capture_smp2,
		e2e.hooks_after_notifiers_when_asked, e2e.hook_faults_after_notifiers, e2e.hook_faults,
		e2e.hook_panics, e2e.hooks_disabled, e2e.hooks_bad_param, e2e.hook_without_capture_kernel]
	cs += [Check(f'hooks: {_title(h)}', h, ('x86_64',), 'hooks') for h in hooks]
	halts: list[Callable[[Context], str]] = [
		halt.halts_after_panic, halt.halts_after_panic_smp2, halt.spins_on_request, halt.bad_param]
	cs += [Check(f'halt: {_title(h)}', h, ('x86_64',), 'halt') for h in halts]
	cs += [
		Check('halt: the x86_64 CPU halts between the blinks of an i8042 keyboard',
		      halt.halts_between_blinks, ('x86_64-modules',), 'halt'),
		Check('halt: without a TSC the x86_64 LEDs keep blinking',
		      halt.blinks_without_tsc, ('x86_64-modules',), 'halt'),
		Check('halt: panic=10 reboots after 10 s on i386', halt.i386_reboots_on_time,
		      ('i386',), 'halt'),
		Check('kunit: the suites pass at boot on i386', halt.i386_kunit_at_boot, ('i386',),
		      'kunit at boot'),
	]
	for context in torture.CONTEXTS:
		for platform in torture.WAIT_PLATFORMS:
			cs.append(Check(f'torture: {context} on {platform}',
					_verdict(torture.expect_wait, torture.context_cell, context, platform),
					(torture.KERNEL_OF[platform],), 'torture'))
	for tick in torture.TICKS:
		cs.append(Check(f'torture: tick {tick} on {torture.TICK_PLATFORM}',
				_verdict(torture.expect_wait, torture.tick_cell, tick),
				(kernels.TICK_KERNELS[torture.TICK_PLATFORM],), 'torture'))
	for case in torture.HOOK_CASES:
		for platform in torture.HOOK_PLATFORMS:
			for capture in (True, False):
				cs.append(Check(
					f'torture: hook {case} on {platform}, '
					f'{"capture kernel loaded" if capture else "no capture kernel"}',
					_verdict(functools.partial(torture.expect_hook, case=case,
								   capture=capture),
						 torture.hook_cell, case, platform, capture),
					(torture.KERNEL_OF[platform],), 'torture'))
	cs += [
		Check('slot users: preprocessed hv_common.c, vmbus_drv.c, sev.c, sev-dev.c '
		      '(x86_64-modules)', _with(slot_users.none_preprocessed, 'x86_64-modules',
						['drivers/hv/hv_common.c', 'drivers/hv/vmbus_drv.c',
						 'arch/x86/virt/svm/sev.c', 'drivers/crypto/ccp/sev-dev.c']),
		      ('x86_64-modules',), 'slot users'),
		Check('slot users: preprocessed hv_common.c, vmbus_drv.c (arm64)',
		      _with(slot_users.none_preprocessed, 'arm64',
			    ['drivers/hv/hv_common.c', 'drivers/hv/vmbus_drv.c']),
		      ('arm64',), 'slot users'),
		Check('slot users: preprocessed fadump.c (ppc64le)',
		      _with(slot_users.none_preprocessed, 'ppc64le', ['arch/powerpc/kernel/fadump.c']),
		      ('ppc64le',), 'slot users'),
		Check('slot users: nothing claimed off Hyper-V and SNP, capture works (x86_64-modules)',
		      slot_users.boots_and_captures_unclaimed, ('x86_64-modules',), 'slot users'),
	]
	for kernel, sparse in (('x86_64', True), ('x86_64-modules', True), ('i386', True),
			       ('arm64', True), ('riscv64', False), ('ppc64le', True), ('s390x', True),
			       ('arm', True)):
		what = 'W=1 + sparse' if sparse else 'W=1 (Debian\'s sparse cannot parse riscv\'s -march)'
		cs.append(Check(f'{what}: no new findings in touched files ({kernel})',
				_with(lint.compiler_checks, kernel, sparse), (kernel,), 'lint'))
	for name in distro.KERNELS:
		cs.append(Check(f'distro: Debian 12 with kdump-tools captures {name} (cached runs only)',
				_with(distro.check, name, True), (), 'distro'))
	cs.append(Check('bisect: the files the x86_64 walk did not compile, compiled at each patch',
			bisect.compile_elsewhere, bisect.OTHERS, 'bisect'))
	return cs


def select(cs: list[Check], patterns: list[str]) -> list[Check]:
	if not patterns:
		return cs
	return [c for c in cs if any(fnmatch.fnmatch(c.name, p) or p in c.name for p in patterns)]


def list_checks(patterns: list[str]) -> None:
	for c in select(checks(), patterns):
		needs = f'  [needs {", ".join(c.needs)}]' if c.needs else ''
		print(f'{c.name}{needs}')


# Groups whose checks only run QEMU (on kernels built when first needed):
# while they run, the kernels they and the later checks need are built in
# the background at the lowest CPU priority, and a cold run overlaps its
# builds with the guests' waits. Those of PARALLEL also run side by side,
# one per core (each guest is one TCG thread, and a cell's figures are host
# times and the vCPU threads' own CPU time), the cells whose kernels are
# built first.
QEMU_ONLY = ('pvpanic', 'kdump', 'hooks', 'halt', 'kunit at boot', 'torture')
PARALLEL = ('torture',)


def _run_checks(ctx: Context, batch: list[Check], jobs: int) -> None:
	def one(c: Check) -> None:
		ctx.report.check(c.name, _unavailable(c.fn), ctx)
	if jobs < 2:
		for c in batch:
			one(c)
		return
	with ThreadPoolExecutor(max_workers=jobs) as pool:
		list(pool.map(one, batch))


def _run_group(ctx: Context, group: str, batch: list[Check], jobs: int,
	       later: list[str]) -> None:
	with ctx.stages.stage(f'checks: {group or "other"}'):
		if group not in QEMU_ONLY:
			_run_checks(ctx, batch, 1)
			return
		own = list(dict.fromkeys(n for c in batch for n in c.needs))
		with ctx.prebuild([n for n in dict.fromkeys(own + later) if not ctx.built(n)]):
			if group in PARALLEL:
				# The cells whose kernels are built first go first.
				rank = {n: i for i, n in enumerate(own)}
				batch = sorted(batch, key=lambda c: max((rank[n] for n in c.needs),
									default=-1))
			_run_checks(ctx, batch, jobs if group in PARALLEL else 1)


def run_all(patterns: list[str], jobs: int = 1) -> bool:
	"""The selected checks; True when none failed. Always ends with the
	summary line and the stage times, whatever a check does."""
	started = time.monotonic()
	report, stages = Report('test'), Stages()
	ctx = Context(report, stages)
	try:
		ctx.prepare_source()
		selected = select(checks(), patterns)
		groups = [(g, list(b)) for g, b in itertools.groupby(selected, lambda c: c.group)]
		for i, (group, batch) in enumerate(groups):
			later = [n for _, b in groups[i + 1:] for c in b for n in c.needs]
			_run_group(ctx, group, batch, jobs, later)
	except KeyboardInterrupt:
		print('interrupted')
	except BaseException as e:           # noqa: B036 - the summary must still come
		print(f'harness error outside any check: {e!r}')
		report.add(Result('harness: the run completed', FAIL, f'{e!r}'))
	finally:
		stages.print(time.monotonic() - started)
		ok = report.summary()
	return ok
