# SPDX-License-Identifier: GPL-2.0
"""Each way a check could pass without checking what it claims, fed the
bad case: the check must now fail (or skip, counted, saying why)."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from phlib import (bisect, common, context, e2e, kernels, kunit, measure, qemu, report, size_parts,
		   slot_users, source, style, suite, torture)
from phlib.report import CheckFailed, Report


def _machine(tmp_path: Path) -> qemu.Machine:
	return qemu.Machine('t', 'x86_64', tmp_path / 'k', tmp_path / 'i', '', timeout=5)


# 1. A guest that exits is not a halted guest -----------------------------

def test_wait_reports_exit_not_condition(tmp_path: Path) -> None:
	q = qemu.Qemu(_machine(tmp_path), tmp_path)
	q.proc = subprocess.Popen(['true'])
	q.proc.wait()
	q.start = time.monotonic()
	assert q.wait(lambda q: False, timeout=2) == qemu.EXITED


class _ExitingQemu:
	"""A QEMU whose guest printed the end of its panic, then went away."""

	def __init__(self, m: qemu.Machine, exits_at: str) -> None:
		self.m = m
		self.rundir = Path('/nonexistent')
		self.exits_at = exits_at
		self.samples = 0
		self.proc = subprocess.Popen(['true'])
		self.proc.wait()

	def __enter__(self) -> '_ExitingQemu':
		return self

	def __exit__(self, *exc: Any) -> None:
		pass

	def wait(self, until: Any, timeout: float = 0) -> str:
		return qemu.EXITED if self.exits_at == 'wait' else qemu.CONDITION

	def alive(self) -> bool:
		return self.exits_at != 'window' or self.samples == 0

	def vcpus(self) -> qemu.VcpuSample:
		self.samples += 1
		return qemu.VcpuSample(0.0, 0)      # a reaped process does not move


@pytest.mark.parametrize('exits_at', ['wait', 'window'])
def test_quiet_fails_when_the_guest_exits(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
					  exits_at: str) -> None:
	monkeypatch.setattr(qemu, 'Qemu', lambda m: _ExitingQemu(m, exits_at))
	monkeypatch.setattr(measure, 'SETTLE', 0)
	with pytest.raises(CheckFailed):
		measure.quiet(_machine(tmp_path), window=0.01)


# 2. series: applies applies the series ---------------------------------

def _git(repo: Path, *args: str) -> str:
	return common.output(['git', '-C', repo, *args], env=source.GIT_ENV)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
	r = tmp_path / 'linux'
	r.mkdir()
	_git(r, 'init', '-q', '-b', 'main')
	(r / 'panic.c').write_text('one\ntwo\n')
	_git(r, 'add', '.')
	_git(r, 'commit', '-q', '-m', 'Debian linux-source-6.12 6.12.117-1~deb12u1')
	_git(r, 'tag', 'base')
	return r


def _patch_of(repo: Path, old: str, new: str, dest: Path) -> Path:
	(repo / 'panic.c').write_text(new)
	_git(repo, 'commit', '-q', '-am', 'panic: change')
	dest.write_text(_git(repo, 'format-patch', '--stdout', '-1') + '\n')
	_git(repo, 'reset', '-q', '--hard', 'HEAD~1')
	(repo / 'panic.c').write_text(old)
	return dest


def test_series_tree_applies_or_names_the_patch(repo: Path, tmp_path: Path) -> None:
	good = _patch_of(repo, 'one\ntwo\n', 'one\nthree\n', tmp_path / 'good.patch')
	tree = source.series_tree(repo, [good])
	assert tree != _git(repo, 'rev-parse', 'base^{tree}')
	(repo / 'panic.c').write_text('other\n')
	_git(repo, 'commit', '-q', '-am', 'elsewhere')
	bad = _patch_of(repo, 'other\n', 'other\nmore\n', tmp_path / 'bad.patch')
	with pytest.raises(source.PatchFailed, match='bad.patch'):
		source.series_tree(repo, [good, bad])


def test_source_is_the_series_base_whatever_is_installed(monkeypatch: pytest.MonkeyPatch,
							   tmp_path: Path) -> None:
	fetched = tmp_path / 'fetched.tar.xz'
	monkeypatch.setattr(source, 'SERIES_BASE', '6.12.118-1~deb12u1')
	monkeypatch.setattr(source, '_fetched_tarball', lambda version: fetched)
	monkeypatch.setattr(source, 'debian_version', lambda: '6.12.118-1~deb12u1')
	assert source._tarball() == ('6.12.118-1~deb12u1', source.TARBALL)
	monkeypatch.setattr(source, 'debian_version', lambda: '6.12.119-1~deb12u1')
	assert source._tarball() == ('6.12.118-1~deb12u1', fetched)

	def gone(version: str) -> Path:
		raise common.CommandError(['apt-get'], 100, None, 'no such version')
	monkeypatch.setattr(source, '_fetched_tarball', gone)
	assert source._tarball() == ('6.12.119-1~deb12u1', source.TARBALL)


def test_every_arch_and_platform_has_its_packages() -> None:
	"""A fresh machine gets each tool a build or a boot runs: the cross
	compiler of every arch, the QEMU of every platform, and the C library
	the static /init of every booted arch links against."""
	from phlib import arches
	probes = common.APT_PACKAGES
	for arch in arches.ARCHES.values():
		assert arch.cc in probes, arch.name
	for platform in arches.PLATFORMS.values():
		assert platform.qemu in probes, platform.name
		cc = arches.ARCHES[platform.arch].cc
		if cc != 'gcc':
			assert f'/usr/{cc.removesuffix("-gcc")}/lib/libc.a' in probes, platform.name


def test_applies_fails_on_another_debian_version(monkeypatch: pytest.MonkeyPatch,
						 repo: Path) -> None:
	monkeypatch.setattr(source, 'SERIES_BASE', '6.12.999-1')

	class Ctx:
		tree = repo
	with pytest.raises(CheckFailed, match='6.12.999-1'):
		suite._applies(Ctx())          # type: ignore[arg-type]


# 3. Quiet means quiet, and the reboot on time ------------------------------

def test_wait_cell_verdicts() -> None:
	good = torture.WaitFigures(3.1, 0.0, 0, 4.0, [])
	assert torture.expect_wait(good)
	for bad in (torture.WaitFigures(None, 0.0, 0, 4.0, []),      # never rebooted
		    torture.WaitFigures(4.0, 0.0, 0, 4.0, []),       # late
		    torture.WaitFigures(3.0, 0.9, 0, 4.0, []),       # spinning
		    torture.WaitFigures(3.0, 0.0, 48, 4.0, [])):     # waking at 12 Hz
		with pytest.raises(CheckFailed):
			torture.expect_wait(bad)
	# A documented fallback may spin, but must still reboot on time.
	assert 'spins' in torture.expect_wait(torture.WaitFigures(3.0, 4.0, 0, 4.0, [], 'why'))
	with pytest.raises(CheckFailed):
		torture.expect_wait(torture.WaitFigures(5.0, 4.0, 0, 4.0, [], 'why'))


def test_guest_nmi_cell_needs_its_panic_line(tmp_path: Path) -> None:
	"""arm64's nmi cell is only an NMI cell if the hard lockup detector's
	NMI panicked the guest, in both runs: a guest that panicked otherwise,
	or never, fails it, on time or not."""
	proof = torture.PSEUDO_NMI_WATCHDOG.proof
	nmi, other = tmp_path / 'nmi.log', tmp_path / 'other.log'
	nmi.write_text(f'[    5.36] {proof}\n[    5.37] Rebooting in 3 seconds..\n')
	other.write_text('[    0.44] lkdtm: Performing direct entry HARDLOCKUP\n')
	torture.expect_panic_line(torture.WaitFigures(3.0, 0.0, 0, 4.0, [str(nmi), str(nmi)]), proof)
	for logs in ([str(nmi), str(other)], [str(other), str(nmi)]):
		with pytest.raises(CheckFailed, match='did not come from'):
			torture.expect_panic_line(torture.WaitFigures(3.0, 0.0, 0, 4.0, logs), proof)


def test_panic_from_nmi_is_the_hosts_or_the_guests() -> None:
	"""The nmi cells panic in NMI context on every platform that has one:
	the host's NMI on x86 and powerpc, the guest's own on arm64 with
	GICv3, none (a counted skip) on riscv64 and s390x."""
	assert torture.panic_from_nmi('x86_64').host_injects
	assert torture.panic_from_nmi('ppc64le').host_injects
	arm64 = torture.panic_from_nmi('arm64-gicv3')
	assert not arm64.host_injects and arm64.crash == 'HARDLOCKUP'
	assert 'irqchip.gicv3_pseudo_nmi=1' in arm64.append and arm64.proof
	for platform in ('riscv64', 's390x'):
		with pytest.raises(report.Skipped):
			torture.panic_from_nmi(platform)
	assert 'arm64-gicv2' in torture.CONTEXTS['nmi'].skip
	assert torture.HOOK_CASES['nmi'].nmi


def test_pvpanic_events_leave_out_pseries_own_report(tmp_path: Path) -> None:
	"""pseries reports a panic itself (ibm,os-term), and QEMU says so on
	its stderr: that event is not pvpanic's. Without the line, every panic
	event counts, so a second event from pvpanic still fails its cell."""
	panicked = [qemu.Event(7.406, 'GUEST_PANICKED', {}), qemu.Event(7.410, 'GUEST_PANICKED', {})]
	os_term = [qemu.Line(7.411, torture.OS_TERM_LINE + ' ')]

	def outcome(lines: list[qemu.Line]) -> qemu.Outcome:
		return qemu.Outcome(_machine(tmp_path), lines, panicked, 0, False, 0.0, 5.0, tmp_path,
				    True, [])
	assert torture.pvpanic_events(outcome(os_term)) == 1
	assert torture.pvpanic_events(outcome([])) == 2


def test_hook_cell_verdicts() -> None:
	ok = torture.HookFigures(True, 'pvpanic:ok:5000', 1, None, '')
	assert torture.expect_hook(ok, 'all-cpus', True)
	for bad in (torture.HookFigures(True, 'pvpanic:ok:5000,pvpanic:ok:1', 1, None, ''),
		    torture.HookFigures(True, 'pvpanic:ok:5000', 2, None, ''),
		    torture.HookFigures(False, None, 1, None, '')):
		with pytest.raises(CheckFailed):
			torture.expect_hook(bad, 'all-cpus', True)
	with pytest.raises(CheckFailed):
		torture.expect_hook(torture.HookFigures(False, None, 1, None, ''), 'all-cpus', False)


def test_hook_after_notifiers_expects_the_notifiers_event() -> None:
	"""With crash_kexec_post_notifiers, pvpanic's notifier reports before a
	hook that dies: one event, where the same crash without the switch
	must give none (the hook never finished reporting)."""
	died = torture.HookFigures(True, 'pvpanic:reentered:0', 1, None, '')
	assert torture.expect_hook(died, 'fault-after-notifiers', True)
	with pytest.raises(CheckFailed, match='1 pvpanic events, expected 0'):
		torture.expect_hook(died, 'fault-under-die-lock', True)
	with pytest.raises(CheckFailed, match='0 pvpanic events, expected 1'):
		torture.expect_hook(torture.HookFigures(True, 'pvpanic:reentered:0', 0, None, ''),
				    'fault-after-notifiers', True)
	# The hook must still have run: its status says it re-entered.
	with pytest.raises(CheckFailed, match='expected the pvpanic hook once'):
		torture.expect_hook(torture.HookFigures(True, 'pvpanic:ok:900', 1, None, ''),
				    'fault-after-notifiers', True)


# 4. checkpatch: an abort fails, exceptions are exact, stale ones reported ---

class _Proc:
	def __init__(self, out: str, rc: int) -> None:
		self.stdout, self.stderr, self.returncode = out.encode(), b'', rc


def test_checkpatch_abort_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
	monkeypatch.setattr(style, 'run', lambda *a, **k: _Proc('Died at checkpatch.pl line 3.\n', 2))
	with pytest.raises(CheckFailed, match='did not finish'):
		style.checkpatch(tmp_path / '0001-x.patch', tmp_path, tmp_path)


def test_exceptions_exact(tmp_path: Path) -> None:
	path = tmp_path / 'exceptions.txt'
	path.write_text('0001-x.patch | LONG_LINE | line length of 101 exceeds 100 columns | a URL\n')
	accepted = style.exceptions(path)
	found = parsers_checkpatch('WARNING:LONG_LINE: line length of 101 exceeds 100 columns\n'
				   'WARNING:LONG_LINE: line length of 130 exceeds 100 columns\n')
	assert style.unaccepted('0001-x.patch', found, accepted) == [
		'WARNING:LONG_LINE: line length of 130 exceeds 100 columns']
	# One line accepts one finding: a second occurrence is new.
	twice = parsers_checkpatch('WARNING:LONG_LINE: line length of 101 exceeds 100 columns\n' * 2)
	assert style.unaccepted('0001-x.patch', twice, accepted) == [
		'WARNING:LONG_LINE: line length of 101 exceeds 100 columns']
	assert style.unaccepted('0002-y.patch', twice, accepted) != []
	path.write_text('0001-x.patch | LONG_LINE | line length of 101 exceeds 100 columns\n')
	with pytest.raises(CheckFailed, match='reason'):
		style.exceptions(path)


def parsers_checkpatch(findings: str) -> Any:
	from phlib import parsers
	return parsers.checkpatch(findings + 'total: 0 errors, 2 warnings, 0 checks, 9 lines checked\n')


def test_stale_exception_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
	path = tmp_path / 'exceptions.txt'
	line = '0001-x.patch | LONG_LINE | line length of 101 exceeds 100 columns | a URL\n'
	path.write_text(line)
	monkeypatch.setattr(style, 'EXCEPTIONS', path)
	patch = tmp_path / '0001-x.patch'
	patch.write_text('')
	log = tmp_path / 'checkpatch-0001-x.log'
	log.write_text('total: 0 errors, 0 warnings, 0 checks, 9 lines checked\n')
	with pytest.raises(CheckFailed, match='accept no finding'):
		style.stale_exceptions([patch], tmp_path, tmp_path)
	# Two lines of one message need two findings of it.
	finding = 'WARNING:LONG_LINE: line length of 101 exceeds 100 columns\n'
	log.write_text(finding + 'total: 0 errors, 1 warnings, 0 checks, 9 lines checked\n')
	style.stale_exceptions([patch], tmp_path, tmp_path)
	path.write_text(line * 2)
	with pytest.raises(CheckFailed, match='1 of 2 lines'):
		style.stale_exceptions([patch], tmp_path, tmp_path)
	# A log older than its patch is not read: checkpatch runs again.
	path.write_text(line)
	os.utime(log, (0, 0))
	monkeypatch.setattr(style, 'run', lambda *a, **k: _Proc(
		'total: 0 errors, 0 warnings, 0 checks, 9 lines checked\n', 0))
	with pytest.raises(CheckFailed, match='accept no finding'):
		style.stale_exceptions([patch], tmp_path, tmp_path)


# 5. The KVM probe boots the known good kernel, not the one under test ------

def test_kvm_probe_boots_the_unpatched_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
	probed = []

	class Ctx:
		def guest(self, name: str) -> str:
			return name

	def probe(g: str) -> tuple[bool, str]:
		probed.append(g)
		return False, 'no /dev/kvm'
	monkeypatch.setattr(e2e.scenario, 'kvm_probe', probe)
	with pytest.raises(report.Skipped):
		e2e.kdump_capture_kvm(Ctx())          # type: ignore[arg-type]
	assert probed == ['x86_64-unpatched']


# 6. Bisect skips by name; QMP replies are read ----------------------------

def test_bisect_names_files_no_config_builds(monkeypatch: pytest.MonkeyPatch,
						tmp_path: Path) -> None:
	class K:
		def __init__(self, name: str, objs: set[str]) -> None:
			self.name, self.objs = name, objs
			self.out = tmp_path / name

		def builds(self, o: str) -> bool:
			return o in self.objs
	known = {'x86_64': K('x86_64', set()), 'arm64': K('arm64', set())}

	class Ctx:
		stages = report.Stages()
		report = Report('t')
		kernels = known

		def kernel(self, name: str) -> K:
			return known.get(name, K(name, set()))
	ctx = Ctx()
	monkeypatch.setattr(bisect, 'steps', lambda: [bisect.Step('c0', 'kunit: tests',
								  ['lib/tests/only_uml.c'])])
	monkeypatch.setattr(bisect.source, 'checkout_build_tree', lambda c: None)
	bisect.compile_elsewhere(ctx)                # type: ignore[arg-type]
	assert [(r.status, r.why) for r in ctx.report.results] == [
		(report.SKIP, 'built by no configuration here at this patch: lib/tests/only_uml.o')]


class _K:
	"""A kernel of the bisect tests: what it builds at HEAD, its out dir."""

	def __init__(self, name: str, objs: set[str], tmp_path: Path) -> None:
		self.name, self.objs = name, objs
		self.out = tmp_path / name
		self.out.mkdir(exist_ok=True)

	def builds(self, o: str) -> bool:
		return o in self.objs


class _BisectCtx:
	"""The context compile_elsewhere() needs: kernels by name, a report."""

	def __init__(self, known: dict[str, _K], tmp_path: Path) -> None:
		self.stages, self.report, self.kernels = report.Stages(), Report('t'), known
		self.tmp_path = tmp_path

	def kernel(self, name: str) -> _K:
		return self.kernels.get(name, _K(name, set(), self.tmp_path))

	def forget_built(self, name: str) -> None:
		pass


def test_bisect_compiles_what_x86_64_did_not_at_that_patch(monkeypatch: pytest.MonkeyPatch,
							   tmp_path: Path) -> None:
	"""x86_64 builds panic_hooks.o at HEAD, but the walk did not compile it
	at the patch that adds it (nothing selected it yet): it is not counted
	as built; i386 lacks the symbol there too, so it is a SKIP saying so."""
	obj = 'kernel/panic_hooks.o'
	known = {'x86_64': _K('x86_64', {obj}, tmp_path), 'i386': _K('i386', {obj}, tmp_path)}
	(known['x86_64'].out / 'bisect-compiled.json').write_text(json.dumps({'c5': []}))
	(known['i386'].out / '.config').write_text('CONFIG_X86_32=y\n')

	ctx = _BisectCtx(known, tmp_path)
	monkeypatch.setattr(bisect, 'steps', lambda: [bisect.Step('c5', 'panic: Add slots',
								  ['kernel/panic_hooks.c'])])
	monkeypatch.setattr(bisect.source, 'checkout_build_tree', lambda c: None)
	monkeypatch.setattr(bisect.kernels, 'make', lambda *a, **k: None)
	monkeypatch.setattr(bisect, 'unmet_symbol', lambda tree, config, o: 'CONFIG_PANIC_HOOKS')
	bisect.compile_elsewhere(ctx)                # type: ignore[arg-type]
	assert [(r.status, r.why) for r in ctx.report.results] == [
		(report.SKIP, 'built by no configuration here at this patch: '
		 'kernel/panic_hooks.o (CONFIG_PANIC_HOOKS not set in i386)')]


def test_bisect_a_later_configuration_that_builds_it_is_no_skip(
		monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
	"""i386 lacks the symbol at that patch, 32-bit arm has it: compiled
	there, and not also reported as built by none."""
	obj = 'kernel/panic_hooks.o'
	known = {'x86_64': _K('x86_64', {obj}, tmp_path), 'i386': _K('i386', {obj}, tmp_path),
		 'arm': _K('arm', {obj}, tmp_path)}
	(known['x86_64'].out / 'bisect-compiled.json').write_text(json.dumps({'c6': []}))
	for name in ('i386', 'arm'):
		(known[name].out / '.config').write_text(f'CONFIG_{name.upper()}=y\n')

	ctx = _BisectCtx(known, tmp_path)
	monkeypatch.setattr(bisect, 'steps', lambda: [bisect.Step('c6', 'panic: Add slots',
								  ['kernel/panic_hooks.c'])])
	monkeypatch.setattr(bisect.source, 'checkout_build_tree', lambda c: None)
	monkeypatch.setattr(bisect.kernels, 'make', lambda *a, **k: None)
	monkeypatch.setattr(bisect, 'unmet_symbol', lambda tree, config, o:
			    None if 'ARM' in config else 'CONFIG_PANIC_HOOKS')
	monkeypatch.setattr(bisect, '_compile', lambda k, objs: ' '.join(objs))
	bisect.compile_elsewhere(ctx)                # type: ignore[arg-type]
	assert [(r.name, r.status) for r in ctx.report.results] == [
		('bisect compile: panic: Add slots (arm)', report.PASS)]


def test_bisect_each_patch_starts_from_the_kernels_config(monkeypatch: pytest.MonkeyPatch,
							  tmp_path: Path) -> None:
	"""olddefconfig at an earlier patch drops a symbol that patch lacks; the
	next patch must start from the saved .config, not that remnant."""
	k = _K('i386', set(), tmp_path)
	(k.out / '.config').write_text('CONFIG_A=y\n')
	monkeypatch.setattr(bisect.kernels, 'make', lambda *a, **kw: None)
	saved = b'CONFIG_A=y\nCONFIG_NEW_TEST=y\n'
	assert bisect._configure_at(k, saved) == saved.decode()     # type: ignore[arg-type]


def test_bisect_make_that_writes_nothing_fails(monkeypatch: pytest.MonkeyPatch,
					       tmp_path: Path) -> None:
	k = _K('arm', set(), tmp_path)
	(k.out / 'kernel').mkdir()
	(k.out / 'kernel/panic_hooks.o').write_text('of another commit')
	monkeypatch.setattr(bisect.kernels, 'make', lambda *a, **kw: None)
	with pytest.raises(CheckFailed, match='did not write kernel/panic_hooks.o'):
		bisect._compile(k, ['kernel/panic_hooks.o'])     # type: ignore[arg-type]


def _qmp_pair(tmp_path: Path) -> tuple[qemu.Qemu, socket.socket]:
	ours, theirs = socket.socketpair()
	q = qemu.Qemu(_machine(tmp_path), tmp_path)
	q._qmp_file = ours.makefile('rwb')
	threading.Thread(target=q._read_qmp, daemon=True).start()
	return q, theirs


def test_qmp_error_reply_raises(tmp_path: Path) -> None:
	q, theirs = _qmp_pair(tmp_path)
	theirs.sendall(json.dumps({'event': 'GUEST_PANICKED', 'data': {}}).encode() + b'\n' +
		       json.dumps({'error': {'class': 'CommandNotFound'}}).encode() + b'\n')
	with pytest.raises(qemu.QmpError, match='CommandNotFound'):
		q.qmp('no-such-command')
	assert [e.name for e in q.events] == ['GUEST_PANICKED']


def test_qmp_silence_raises(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
	monkeypatch.setattr(qemu, 'QMP_TIMEOUT', 0.1)
	q, _ = _qmp_pair(tmp_path)
	with pytest.raises(qemu.QmpError, match='no reply'):
		q.qmp('query-status')


# 7. Whatever happens, the run ends with its summary -----------------------

def test_kunit_timeout_is_a_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
	def timeout(*a: Any, **k: Any) -> None:
		raise subprocess.TimeoutExpired('kunit.py', 1)
	monkeypatch.setattr(kunit.common, 'run', timeout)
	monkeypatch.setattr(kunit.common, 'LOGS', tmp_path)

	class Ctx:
		report = Report('t')
	kunit.run(Ctx())          # type: ignore[arg-type]
	assert [r.status for r in Ctx.report.results] == [report.FAIL]


def test_die_in_a_check_fails_that_check(capsys: pytest.CaptureFixture[str]) -> None:
	r = Report('t')
	r.check('dies', lambda: common.die('gone'))
	r.check('passes', lambda: None)
	assert [x.status for x in r.results] == [report.FAIL, report.PASS]


def test_run_all_ends_with_summary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
				   capsys: pytest.CaptureFixture[str]) -> None:
	monkeypatch.setattr(report, 'RESULTS', tmp_path)

	def broken_source(self: Any) -> None:
		raise OSError('worktree add failed')
	monkeypatch.setattr(suite.Context, 'prepare_source', broken_source)
	assert not suite.run_all([])
	last = capsys.readouterr().out.strip().splitlines()[-1]
	assert last == '0 passed, 1 failed'


def test_ph_list_runs(tmp_path: Path) -> None:
	out = subprocess.run([sys.executable, str(common.ROOT / 'harness/ph'), 'test', '--list',
			      '-k', 'torture: process*'], capture_output=True, text=True, check=True)
	assert 'torture: process on arm64-gicv2' in out.stdout


def test_qmp_must_answer_after_the_moment_that_matters(tmp_path: Path) -> None:
	out = qemu.Outcome(_machine(tmp_path), [], [], 0, False, 0.0, 5.0, tmp_path, False,
			   qmp_replies=[0.5, 1.0, 1.5])
	assert out.qmp_answered_after(1.2)
	assert not out.qmp_answered_after(2.0)         # silence since: events may be lost
	out.events.append(qemu.Event(2.5, 'SHUTDOWN', {}))
	assert out.qmp_answered_after(2.0)


def test_bisect_compiles_only_what_the_config_builds(tmp_path: Path) -> None:
	(tmp_path / 'kernel/irq').mkdir(parents=True)
	(tmp_path / 'kernel/irq/Makefile').write_text(
		'obj-y := irqdesc.o\nobj-$(CONFIG_GENERIC_IRQ_RETIRE_ON_PANIC) += panic.o\n')
	assert bisect.unmet_symbol(tmp_path, 'CONFIG_X=y\n', 'kernel/irq/panic.o') == \
		'CONFIG_GENERIC_IRQ_RETIRE_ON_PANIC'
	assert bisect.unmet_symbol(tmp_path, 'CONFIG_GENERIC_IRQ_RETIRE_ON_PANIC=y\n',
				   'kernel/irq/panic.o') is None
	assert bisect.unmet_symbol(tmp_path, '', 'kernel/irq/irqdesc.o') is None


def test_debs_picks_only_its_own_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
	"""debian-guest must not take debian-guest-unpatched's package (or none
	at all because of the -g<commit> suffix LOCALVERSION_AUTO adds)."""
	from phlib import kernels
	monkeypatch.setattr(common, 'OUT', tmp_path)
	(tmp_path / 'debian').mkdir()
	ours = 'linux-image-6.12.117-debian-guest-gb705318079a9_1_amd64.deb'
	theirs = 'linux-image-6.12.117-debian-guest-unpatched-g30625b7b1fe1_1_amd64.deb'
	for name in (ours, theirs, 'linux-headers-6.12.117-debian-guest-gb705318079a9_1_amd64.deb'):
		(tmp_path / 'debian' / name).write_text('')
	k = kernels.Kernel('debian-guest', 'x86_64', [], package=True)
	assert [p.name for p in k.debs()] == [ours]
	u = kernels.Kernel('debian-guest-unpatched', 'x86_64', [], commit='base', package=True)
	assert [p.name for p in u.debs()] == [theirs]


def test_failure_prints_the_end_of_its_log(tmp_path: Path,
					   capsys: pytest.CaptureFixture[str]) -> None:
	"""A failing check's log may be on a machine gone by the time anyone
	reads the output: its last lines are printed with the verdict."""
	log = tmp_path / 'serial.log'
	log.write_text(''.join(f'line {i}\n' for i in range(100)) + 'Rebooting in 3 seconds..\n')
	r = report.Report('tail')
	r.add(report.Result('a check', report.FAIL, 'no reboot', str(log)))
	r.add(report.Result('a skip', report.SKIP, 'no tool', str(log)))
	r.add(report.Result('a gone log', report.FAIL, 'no reboot', str(tmp_path / 'gone')))
	out = capsys.readouterr().out
	assert '     | Rebooting in 3 seconds..' in out
	assert '| line 88' not in out and '| line 89' in out
	assert out.count('| Rebooting') == 1         # not for the SKIP, not for a missing file


def test_prebuild_builds_once_in_the_background(monkeypatch: pytest.MonkeyPatch,
						tmp_path: Path) -> None:
	"""Kernels built beside QEMU checks: each once, at the lowest CPU
	priority, one at a time; a check needing one under way waits for it;
	the build under way when the checks end is finished, no further one
	started."""
	monkeypatch.setattr(report, 'RESULTS', tmp_path)
	builds: list[tuple[str, bool]] = []
	running = threading.Lock()
	started = threading.Event()

	def fake_run(argv: list[Any], **kw: Any) -> None:
		assert running.acquire(blocking=False), 'two builds at once'
		started.set()
		time.sleep(0.2)
		name = next(str(a) for a in argv if str(a).startswith('LOCALVERSION='))
		builds.append((name.split('-', 1)[1], argv[0] == 'nice'))
		running.release()

	monkeypatch.setattr(kernels, 'run', fake_run)
	monkeypatch.setattr(kernels, 'build', lambda k: kernels.make(k, 'vmlinux'))
	ctx = context.Context(Report('t'), report.Stages())
	with ctx.prebuild(['arm64', 'riscv64', 'ppc64le']):
		assert started.wait(5)
		ctx.kernel('arm64')             # under way in the background: waited for
		ctx.kernel('i386')              # not in the list: built here, not niced
	names = [n for n, _ in builds]
	assert len(names) == len(set(names)), f'a kernel built twice: {names}'
	assert builds[0] == ('arm64', True) and ('i386', False) in builds
	assert all(nice for n, nice in builds if n != 'i386')
	assert ctx.built('arm64') and ctx.built('i386')
	assert len(builds) <= 4


def test_make_runs_niced_only_in_the_background(monkeypatch: pytest.MonkeyPatch) -> None:
	argvs: list[list[str]] = []
	monkeypatch.setattr(kernels, 'run', lambda argv, **kw: argvs.append([str(a) for a in argv]))
	k = kernels.catalogue()['x86_64']
	kernels.make(k, 'vmlinux')
	with kernels.in_background():
		kernels.make(k, 'vmlinux')
	kernels.make(k, 'vmlinux')
	assert [a[0] for a in argvs] == ['make', 'nice', 'make']


class _BootingQemu:
	"""A QEMU whose first boot hangs before init (riscv64 under TCG, once in
	a few hundred boots), or every boot when hangs is 2."""
	boots = 0

	def __init__(self, m: qemu.Machine, rundir: Path, hangs: int) -> None:
		type(self).boots += 1
		self.m, self.rundir = m, rundir
		self.hung = type(self).boots <= hangs
		self.lines = [qemu.Line(0.1, 'smp: Bringing up secondary CPUs ...')]
		if not self.hung:
			self.lines.append(qemu.Line(0.5, 'ph-init: mode panic'))
		# As the real one: serial.log appears in rundir only at exit.
		rundir.mkdir(parents=True, exist_ok=True)

	def save_serial(self, path: Path) -> None:
		path.write_text('\n'.join(ln.text for ln in self.lines) + '\n')

	def __enter__(self) -> '_BootingQemu':
		return self

	def __exit__(self, *exc: Any) -> None:
		pass

	def seen(self, needle: str) -> bool:
		return any(needle in ln.text for ln in self.lines)

	def wait(self, until: Any = None, timeout: float = 0) -> str:
		if until and until(self):
			return qemu.CONDITION
		return qemu.TIMEOUT


@pytest.mark.parametrize('hangs', [0, 1, 2])
def test_a_boot_that_hangs_before_init_is_booted_once_more(
		monkeypatch: pytest.MonkeyPatch, tmp_path: Path, hangs: int) -> None:
	"""Once, and said: a second hang reaches the check, which fails on it."""
	_BootingQemu.boots = 0
	monkeypatch.setattr(qemu, 'Qemu', lambda m: _BootingQemu(m, tmp_path / 'run', hangs))
	m = qemu.Machine('t', 'riscv64', tmp_path / 'k', tmp_path / 'i', '', timeout=90)
	with qemu.booted(m) as q:
		assert q.seen('ph-init: ') == (hangs < 2)
	assert _BootingQemu.boots == min(hangs + 1, 2)
	kept = tmp_path / 'run-hung-boot' / 'serial.log'
	assert kept.exists() == (hangs > 0)
	# An init not ours, or a timeout within the limit: nothing to judge by.
	_BootingQemu.boots = 0
	m.init_mark = ''
	with qemu.booted(m):
		pass
	assert _BootingQemu.boots == 1


# 8. A part of the size breakdown that no longer matches is an error -------

def test_size_part_that_matches_nothing_is_an_error() -> None:
	part = size_parts.Part('the test message', (('\tpr_info("gone\\n");\n', ''),),
			       header=(('\tint gone;\n', ''),))
	text = 'void f(void)\n{\n\tpr_info("here\\n");\n}\n'
	header = 'struct s {\n\tint gone;\n};\n'

	def texts(source: str, h: str = header) -> dict[str, str]:
		return {size_parts.SOURCE: source, size_parts.HEADER: h}
	with pytest.raises(size_parts.Mismatch, match='0 times'):
		size_parts.without(texts(text), [part])
	with pytest.raises(size_parts.Mismatch, match='2 times'):
		size_parts.without(texts(text.replace('here', 'gone') * 2), [part])
	with pytest.raises(size_parts.Mismatch, match='panic_hooks_internal.h 0 times'):
		size_parts.without(texts(text.replace('here', 'gone'), 'struct s {\n};\n'), [part])
	assert size_parts.without(texts(text.replace('here', 'gone')), [part]) == texts(
		'void f(void)\n{\n}\n', 'struct s {\n};\n')


def test_size_parts_edit_separate_text() -> None:
	"""Parts measured alone and together: no two edits touch the same text,
	or "without all of them" would fail on the source."""
	parts = list(size_parts.PARTS) + [size_parts.ALL_GONE]
	olds = [old for part in parts for old, _ in part.edits + part.header]
	for a in olds:
		assert not [b for b in olds if b is not a and (a in b or b in a)]


# 9. The search for a forced switch sees every way of writing it ---------

@pytest.mark.parametrize('text', [
	'\tcrash_kexec_post_notifiers = true;',
	'\tWRITE_ONCE(crash_kexec_post_notifiers, true);',
	'do { *(volatile typeof(crash_kexec_post_notifiers) *)&(crash_kexec_post_notifiers) = (1); }'])
def test_forced_switch_found(text: str) -> None:
	assert slot_users.ASSIGNMENT.search(text)


@pytest.mark.parametrize('text', [
	'\tif (crash_kexec_post_notifiers == true)',
	'\tif (READ_ONCE(crash_kexec_post_notifiers))',
	'*(const volatile typeof(crash_kexec_post_notifiers) *)&(crash_kexec_post_notifiers);',
	'\t_crash_kexec_post_notifiers = true;'])
def test_reading_the_switch_is_not_forcing_it(text: str) -> None:
	assert not slot_users.ASSIGNMENT.search(text)


# 10. A QEMU whose vCPU threads cannot be found is not a quiet guest -------

def test_no_vcpu_thread_is_not_quiet() -> None:
	with pytest.raises(CheckFailed, match='no vCPU thread'):
		qemu.vcpu_sample(os.getpid())


# 11. Without a capture kernel, a crashing hook must show that it ran -----

def test_hook_cell_without_its_line_fails() -> None:
	"""pvpanic's notifier sends the one event even when the hook never ran:
	the event and the reboot alone would pass a hook that was not called."""
	ran = torture.HookFigures(False, None, 1, 3.01, 'serial.log', reentered_line=True)
	assert torture.expect_hook(ran, 'fault', capture=False)
	not_run = torture.HookFigures(False, None, 1, 3.01, 'serial.log')
	with pytest.raises(CheckFailed, match='did not run'):
		torture.expect_hook(not_run, 'fault', capture=False)


def test_stopped_qemu_has_no_exit_code(tmp_path: Path) -> None:
	"""kill() leaves a status behind: a run the harness stopped must not
	read as a guest that rebooted."""
	q = qemu.Qemu(_machine(tmp_path), tmp_path)
	q.proc = subprocess.Popen(['sleep', '30'])
	q.proc.kill()
	q.proc.wait()
	assert qemu.exit_code(q, ended=False) is None
	assert qemu.exit_code(q, ended=True) == -9


# 12. Object sizes leave out what vmlinux never holds ---------------------

def test_object_size_without_discarded_sections() -> None:
	from phlib import size
	readelf = '''Section Headers:
  [Nr] Name              Type            Address          Off    Size   ES Flg Lk Inf Al
  [ 0]                   NULL            0000000000000000 000000 000000 00      0   0  0
  [ 1] .text             PROGBITS        0000000000000000 000040 000435 00  AX  0   0 16
  [ 2] .rela.text        RELA            0000000000000000 001040 000678 18   I 26   1  8
  [ 3] .data             PROGBITS        0000000000000000 000480 0000a8 00  WA  0   0 32
  [ 6] .export_symbol    PROGBITS        0000000000000000 000528 000020 00   A  0   0  8
  [ 8] .bss              NOBITS          0000000000000000 000600 000010 00  WA  0   0  8
  [13] .discard.reachable PROGBITS        0000000000000000 000914 000004 00      0   0  1
  [22] .discard.addressable PROGBITS        0000000000000000 000a00 000010 00  WA  0   0  8
  [24] .comment          PROGBITS        0000000000000000 000a10 000028 01  MS  0   0  1
'''
	assert size.sections(readelf) == size.Size(0x435, 0xa8, 0x10)


# 13. An object make did not compile has no findings: not a clean one -----

def test_lint_object_make_skipped_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
	from phlib import lint
	k = _K('x86_64', set(), tmp_path)
	(k.out / 'kernel').mkdir()
	(k.out / 'kernel/panic.o').write_text('compiled with W=1 by an earlier run')
	monkeypatch.setattr(lint.kernels, 'make', lambda *a, **kw: _Proc('', 0))
	with pytest.raises(CheckFailed, match='did not write kernel/panic.o'):
		lint._findings(k, ['kernel/panic.o'], True, tmp_path / 'w1.log')  # type: ignore[arg-type]


# 14. Checks that read the build tree read build/linux's HEAD -------------

def test_prepare_source_puts_the_build_tree_at_head(monkeypatch: pytest.MonkeyPatch) -> None:
	"""kernel-doc and KUnit read the build tree before any build moves it:
	after a rebase it still held the previous HEAD, and both checked that."""
	at: list[str] = []
	monkeypatch.setattr(context.common, 'ensure_packages', lambda *a: None)
	monkeypatch.setattr(context.source, 'prepare_pristine', lambda: Path('/nonexistent'))
	monkeypatch.setattr(context.source, 'create_kernel_tree', lambda src: None)
	monkeypatch.setattr(context.source, 'checkout_build_tree', at.append)
	ctx = context.Context(Report('t'), report.Stages())
	ctx.prepare_source()
	assert at == ['HEAD']
