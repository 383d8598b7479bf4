# SPDX-License-Identifier: GPL-2.0
"""The test command: every check, in dependency order, counted."""

import time

from . import (bisect, build, common, cross, e2e, halt, kernels, kunit, lint, pvpanic, scenario,
	       series, slot_users, source, style)
from .common import log
from .report import Report, Result, FAIL, expect


def _series_checks(report, tree):
	report.check('series: patches/ and build/linux agree', _agree, tree)
	cover = common.PATCHES / series.COVER
	report.check('series: cover letter', style.check_cover, cover)
	for patch in style.patches():
		report.check(f'form: {patch.name}', style.check_form, patch)
		report.check(f'checkpatch --strict: {patch.name}', style.checkpatch, patch, tree,
			     common.LOGS)


def _agree(tree):
	problems = series.disagreements(tree)
	expect(not problems, '\n     '.join(problems))


def _bisect(report, src):
	wt = bisect.worktree()
	kernel = kernels.bisect(wt)
	covered = kernels.patched(src)
	others = [kernels.hyperv_sev(src)] + [cross.guest_kernel(a) for a in cross.SYSTEMS] + \
		[cross.compile_test_kernel(a) for a in cross.COMPILE_TESTS]
	for step in bisect.steps():
		def one(commit=step.commit):
			bisect.checkout(commit)
			build.build(kernel)
		if not report.check(f'bisect build: {step.subject}', one):
			continue
		for k, objects in bisect.elsewhere(bisect.changed_objects(step.commit), covered, others):
			report.check(f'bisect compile: {step.subject} ({k.name})',
				     bisect.compile_objects, k, objects)


def _kunit(report, tree):
	for cfg in kunit.KUNITCONFIGS:
		start = time.monotonic()
		try:
			cases, logfile = kunit.run_kunit(tree, cfg)
		except common.CommandError as e:
			report.add(Result(f'kunit: {cfg}', FAIL, 'kunit.py produced no result',
					  e.logfile, time.monotonic() - start))
			continue
		if not cases:
			report.add(Result(f'kunit: {cfg}', FAIL, 'no test case ran', logfile))
		for c in cases:
			status = c.status if c.status in ('PASS', 'SKIP') else FAIL
			why = '' if status == 'PASS' else c.status + '\n' + c.log[-1500:]
			report.add(Result(f'kunit: {c.suite}.{c.name}', status, why,
					  logfile if status != 'PASS' else None))


def _on_patched(report, guest, prefix, checks):
	"""Each check on the patched guest; each fails if there is none."""
	for check in checks:
		name = f'{prefix} {check.__name__.replace("_", " ")}'
		if guest:
			report.check(name, check, guest)
		else:
			report.add(Result(name, FAIL, 'the patched kernel did not build'))


def _slot_users(report, tree, src, builds):
	"""Issue 5: nothing forces crash_kexec_post_notifiers any more."""
	report.check('slot users: no C source assigns crash_kexec_post_notifiers',
		     slot_users.none_in_tree, tree)
	hv = builds.get('x86_64-hyperv-sev')
	name = 'slot users: preprocessed hv_common.c, sev.c, sev-dev.c (x86_64-hyperv-sev)'
	if hv:
		report.check(name, slot_users.none_preprocessed, hv,
			     ['drivers/hv/hv_common.c', 'arch/x86/virt/svm/sev.c',
			      'drivers/crypto/ccp/sev-dev.c'])
		report.check('W=1 + sparse: no new findings in touched files (x86_64-hyperv-sev)',
			     lint.compiler_checks_vs_pristine, hv, tree, src)
	else:
		report.add(Result(name, FAIL, 'x86_64-hyperv-sev did not build'))


def _slot_user_guest(report, g):
	for name, fn in (('slot users: Hyper-V panic order KUnit at boot (x86_64-hyperv-sev)',
			  slot_users.kunit_at_boot),
			 ('slot users: nothing claimed off Hyper-V/SNP, capture works '
			  '(x86_64-hyperv-sev)', slot_users.boots_and_captures_unclaimed)):
		if g:
			report.check(name, fn, g)
		else:
			report.add(Result(name, FAIL, 'x86_64-hyperv-sev did not build'))


def _cross(report, tree, src):
	"""Other architectures: arm64 and riscv64 guests, powerpc and s390
	compile tests."""
	for arch in cross.SYSTEMS:
		k = cross.guest_kernel(arch)
		if not _build(report, k):
			continue
		report.check(f'W=1{"" if arch in cross.NO_SPARSE else " + sparse"}: no new findings '
			     f'in touched files ({k.name})', cross.compiler_checks, k, tree, src)
		g = report.check(f'guest image: {k.name}', cross.prepare, src, k)
		for check in cross.GUEST_CHECKS[arch]:
			name = f'{arch}: {check.__doc__.splitlines()[0].rstrip(".")}'
			if g:
				report.check(name, check, g)
			else:
				report.add(Result(name, FAIL, 'no guest image'))
		if arch == 'arm64':
			report.check('slot users: preprocessed hv_common.c (arm64-patched)',
				     slot_users.none_preprocessed, k, ['drivers/hv/hv_common.c'])
	for arch in cross.COMPILE_TESTS:
		k = cross.compile_test_kernel(arch)
		if not _build(report, k):
			continue
		report.check(f'W=1 + sparse: no new findings in touched files ({k.name})',
			     cross.compiler_checks, k, tree, src)
		if arch == 'ppc64le':
			report.check('slot users: preprocessed fadump.c (ppc64le-compile)',
				     slot_users.none_preprocessed, k, ['arch/powerpc/kernel/fadump.c'])


def _build(report, kernel):
	return report.check(f'build: {kernel.name}', build.build, kernel)


def run_all():
	"""Every check; True when none failed."""
	report = Report()
	started = time.monotonic()
	common.ensure_packages()
	log(f'packages ready after {time.monotonic() - started:.0f} s')
	src = source.prepare_pristine()
	log(f'kernel source ready after {time.monotonic() - started:.0f} s')
	try:
		tree = source.create_kernel_tree(src)
		log(f'build/linux ready after {time.monotonic() - started:.0f} s')
	except source.PatchFailed as e:
		report.add(Result('series: applies', FAIL, str(e)))
		report.summary()
		return False
	report.add(Result('series: applies', 'PASS'))

	_series_checks(report, tree)
	report.check('kernel-doc: no new warnings in touched files', lint.kernel_doc, tree)

	builds = {}
	for make in (kernels.patched, kernels.hooks_off, kernels.unpatched, kernels.patched_modules,
		     kernels.hyperv_sev):
		k = make(src)
		if _build(report, k):
			builds[k.name] = k

	if 'x86_64-patched' in builds and 'x86_64-unpatched' in builds:
		report.check('W=1 + sparse: no new findings in touched files (x86_64-patched)',
			     lint.compiler_checks, builds['x86_64-patched'], tree,
			     builds['x86_64-unpatched'])
	_slot_users(report, tree, src, builds)

	guests = {}
	for name, k in builds.items():
		g = report.check(f'guest image: {name}', scenario.prepare, src, k)
		if g:
			guests[name] = g

	for name, g in guests.items():
		report.check(f'e2e kdump capture: {name}', e2e.kdump_capture, g)
	if 'x86_64-patched' in guests:
		report.check('e2e kdump capture under KVM: x86_64-patched', e2e.kdump_capture_kvm,
			     guests['x86_64-patched'])

	patched = guests.get('x86_64-patched')
	_on_patched(report, patched, 'e2e', e2e.HOOK_CHECKS)
	_on_patched(report, patched, 'halt:', halt.CHECKS)

	unpatched = guests.get('x86_64-unpatched')
	for name, fn, args in pvpanic.checks(patched, unpatched, guests.get('x86_64-hooks-off'),
					     guests.get('x86_64-patched-modules')):
		if all(args[:1]):
			report.check(name, fn, *args)
		else:
			report.add(Result(name, FAIL, 'a kernel it needs did not build'))

	_slot_user_guest(report, guests.get('x86_64-hyperv-sev'))
	_cross(report, tree, src)
	_kunit(report, tree)
	_bisect(report, src)

	log(f'all checks done in {time.monotonic() - started:.0f} s')
	return report.summary()
