# SPDX-License-Identifier: GPL-2.0
"""The kernels the harness builds, by name, and how they are built:
tinyconfig plus fragments from configs/, out of tree (O=build/out/<name>),
through ccache, from the build tree (see source.py) at base or HEAD."""

import hashlib
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

from . import common, source
from .arches import ARCHES
from .common import log, run

# Build identity fixed so that a rebuild of the same tree hits ccache.
BUILD_ENV = {
	'KBUILD_BUILD_USER': 'panic-hooks',
	'KBUILD_BUILD_HOST': 'harness',
	'KBUILD_BUILD_TIMESTAMP': 'Thu Jan  1 00:00:00 UTC 2026',
	'CCACHE_DIR': str(common.CACHE / 'ccache'),
	'CCACHE_MAXSIZE': '10G',
	'CCACHE_NOHASHDIR': '1',
	'CCACHE_BASEDIR': str(common.BUILD),
	'CCACHE_SLOPPINESS': 'time_macros,include_file_mtime,include_file_ctime',
}


@dataclass
class Kernel:
	"""One kernel to build: an architecture, config fragments, a commit."""
	name: str
	arch: str
	fragments: list[Path]
	commit: str = 'HEAD'          # of the build tree: 'HEAD' or 'base'
	modules: bool = False
	# Compile only these objects (a compile test), not the image.
	objects: list[str] = field(default_factory=list)
	why: str = ''
	# The configuration the fragments are merged onto (make targets).
	base: tuple[str, ...] = ('tinyconfig',)
	# Built as Debian packages (make bindeb-pkg), which land next to out.
	package: bool = False

	@property
	def out(self) -> Path:
		return common.OUT / ('debian' if self.package else '') / self.name

	def debs(self) -> list[Path]:
		"""The linux-image package bindeb-pkg made (none before)."""
		# The version ends in -<name>, then -g<commit> (LOCALVERSION_AUTO).
		pattern = re.compile(rf'linux-image-.*-{re.escape(self.name)}(-g[0-9a-f]+)?\+?_.*\.deb')
		return sorted(p for p in self.out.parent.glob('linux-image-*.deb')
			      if pattern.fullmatch(p.name))

	@property
	def image(self) -> Path:
		return self.out / ARCHES[self.arch].image

	@property
	def vmlinux(self) -> Path:
		return self.out / 'vmlinux'

	@property
	def log(self) -> Path:
		return common.LOGS / f'build-{self.name}.log'

	def module_files(self) -> list[Path]:
		return sorted(self.out.rglob('*.ko')) if self.modules else []

	def builds(self, obj: str) -> bool:
		"""Whether this kernel, as built, compiles obj."""
		return obj in self.objects if self.objects else (self.out / obj).exists()


def _f(*names: str) -> list[Path]:
	return [common.CONFIGS / f'{n}.config' for n in names]


# Tick configurations a kernel can be built with (configs/tick-*.config);
# the guest configs use nohz-idle-hrt.
TICKS = ('nohz-idle', 'nohz-idle-hrt', 'periodic', 'periodic-hrt', 'nohz-full',
	 'nohz-full-hrt')
# Kernels built with NO_HZ_FULL and HIGH_RES_TIMERS, so that boot parameters
# can select every tick mode (torture.TICKS), per platform of the tick matrix.
TICK_KERNELS = {'riscv64': 'riscv64-nohz-full-hrt', 'x86_64': 'x86_64-nohz-full-hrt',
		'arm64-gicv3': 'arm64-nohz-full-hrt'}
# The last patch of the pre-kdump hooks part of the series (before the
# halt): where the size of the hooks alone is measured.
HOOKS_TIP = 'subject:Documentation: kdump:'
# The last of the fixes of 6.12 bugs that open the series.
FIXES_TIP = 'subject:panic: Keep interrupts off in the final loop'


def catalogue() -> dict[str, Kernel]:
	"""Every kernel the harness knows, by name."""
	ks = [
		Kernel('x86_64', 'x86_64', _f('x86_64-guest', 'panic-tests'),
		       why='the product: the x86_64 guest with the series'),
		Kernel('x86_64-hooks-off', 'x86_64', _f('x86_64-guest', 'panic-tests', 'no-slot-users'),
		       why='the series with no slot user built, so CONFIG_PANIC_HOOKS=n'),
		Kernel('x86_64-modules', 'x86_64', _f('x86_64-guest', 'panic-tests', 'x86_64-modules'),
		       modules=True,
		       why='pvpanic, Hyper-V and the PSP driver as modules, KVM with SEV built in'),
		Kernel('i386', 'i386', _f('i386-guest', 'panic-tests'), why='a 32-bit guest'),
		Kernel('arm64', 'arm64', _f('arm64-guest', 'panic-tests', 'kexec-file'),
		       why='the arm64 guest, with Hyper-V built in'),
		Kernel('riscv64', 'riscv64', _f('riscv64-guest', 'panic-tests', 'kexec-file'),
		       why='the riscv64 guest'),
		Kernel('ppc64le', 'ppc64le', _f('ppc64le-guest', 'panic-tests', 'kexec-file'),
		       why='the pSeries guest, with fadump'),
		Kernel('s390x', 's390x', _f('s390x-guest', 'panic-tests-s390'), why='the s390x guest'),
		Kernel('arm', 'arm', _f('arm-compile'), objects=[
			'kernel/panic.o', 'kernel/panic_hooks.o', 'kernel/panic_halt.o',
			'kernel/time/tick-common.o', 'kernel/time/tick-sched.o',
			'kernel/time/sched_clock.o', 'kernel/crash_core.o'],
		       why='32-bit arm: the generic code the series adds, compiled with W=1'),
	]
	by_name = {k.name: k for k in ks}
	for platform, name in TICK_KERNELS.items():
		arch = name.split('-')[0]
		ks.append(Kernel(name, arch, by_name[arch].fragments + _f('tick-nohz-full-hrt'),
				 why=f'the {arch} guest with NO_HZ_FULL and HIGH_RES_TIMERS'))
	for tick in TICKS:
		if f'riscv64-{tick}' not in TICK_KERNELS.values():
			ks.append(Kernel(f'riscv64-{tick}', 'riscv64',
					 by_name['riscv64'].fragments + _f(f'tick-{tick}'),
					 why=f'the riscv64 guest built with the {tick} tick'))
	# Each guest without the series, same configuration, for comparisons.
	for k in list(ks):
		if not k.objects and k.name != 'x86_64-hooks-off':
			ks.append(Kernel(f'{k.name}-unpatched', k.arch, k.fragments, commit='base',
					 modules=k.modules, why=f'{k.name} without the series'))
	# The Debian guest of harness/ph distro, as packages, with and without.
	for commit, suffix in (('HEAD', ''), ('base', '-unpatched')):
		ks.append(Kernel(f'debian-guest{suffix}', 'x86_64', _f('debian-guest'), commit=commit,
				 base=('defconfig', 'kvm_guest.config'), package=True,
				 why='what an operator installs on a Debian 12 KVM or Hyper-V guest'))
	# The size of the series (harness/ph size), without test code.
	for config, frags in (('y', _f('x86_64-guest')), ('n', _f('x86_64-guest', 'no-slot-users'))):
		for commit, label in (('base', 'base'), (FIXES_TIP, 'fixes'), (HOOKS_TIP, 'hooks'),
				      ('HEAD', 'series')):
			ks.append(Kernel(f'size-{config}-{label}', 'x86_64', frags, commit=commit,
					 why=f'x86_64 guest, CONFIG_PANIC_HOOKS={config}, at {label}'))
	return {k.name: k for k in ks}


_thread = threading.local()


@contextmanager
def in_background() -> Iterator[None]:
	"""make() in this thread runs at the lowest CPU priority: beside
	QEMU guests whose timing is measured, it takes only what they leave."""
	_thread.nice = True
	try:
		yield
	finally:
		_thread.nice = False


def backgrounded() -> bool:
	"""Whether this thread builds in the background (in_background())."""
	return getattr(_thread, 'nice', False)


def make(kernel: Kernel, *targets: str, extra: tuple[str, ...] = (),
	 logfile: Optional[Path] = None, check: bool = True, tree: Path = source.BUILD_TREE):
	"""make in the build tree (or another worktree) for kernel's
	architecture and output directory."""
	a = ARCHES[kernel.arch]
	argv: list[object] = ['nice', '-n', '19'] if backgrounded() else []
	argv += ['make', '-C', tree, f'O={kernel.out}', f'ARCH={a.make_arch}',
		f'-j{common.jobs()}', f'CC=ccache {a.cross}gcc', 'HOSTCC=ccache gcc',
		f'LOCALVERSION=-{kernel.name}']
	if a.cross:
		argv.append(f'CROSS_COMPILE={a.cross}')
	if kernel.package:
		# A fixed package version: the same tree gives the same package.
		argv.append('KDEB_PKGVERSION=1')
	return run(argv + list(extra) + list(targets), logfile=logfile or kernel.log,
		   env=BUILD_ENV, check=check)


def requested_symbols(fragments: list[Path]) -> dict[str, str]:
	"""{CONFIG_X: value} asked for by the fragments ('n' for 'is not set')."""
	wanted = {}
	for frag in fragments:
		for line in Path(frag).read_text().splitlines():
			m = re.match(r'^(CONFIG_\w+)=(.*)$', line) or \
				re.match(r'^# (CONFIG_\w+) is not set$', line)
			if m:
				wanted[m.group(1)] = m.group(2) if m.lastindex == 2 else 'n'
	return wanted


def dropped_symbols(kernel: Kernel) -> list[str]:
	"""Requested symbols that olddefconfig did not keep, as 'SYM=want (got)'."""
	have = {}
	for line in (kernel.out / '.config').read_text().splitlines():
		m = re.match(r'^(CONFIG_\w+)=(.*)$', line)
		if m:
			have[m.group(1)] = m.group(2)
	return [f'{sym}={want} (got {have.get(sym, "n")})'
		for sym, want in requested_symbols(kernel.fragments).items()
		if have.get(sym, 'n') != want]


def defined(symbol: str) -> bool:
	"""Whether some Kconfig file of the build tree defines CONFIG_<symbol>."""
	name = symbol.removeprefix('CONFIG_')
	proc = run(['git', '-C', source.BUILD_TREE, 'grep', '-q', '-E',
		    rf'^\s*(menu)?config {name}\s*$', '--', '*Kconfig*'], check=False)
	return proc.returncode == 0


STAMP = '.ph-config-stamp'


def _config_stamp(kernel: Kernel) -> str:
	h = hashlib.sha256(source.tree_id().encode())
	for frag in kernel.fragments:
		h.update(Path(frag).read_bytes())
	return h.hexdigest()


def configure(kernel: Kernel, check_symbols: bool = True):
	"""tinyconfig, then the fragments merged on top, then olddefconfig;
	skipped when neither the fragments nor the tree changed since."""
	stamp = kernel.out / STAMP
	if stamp.exists() and stamp.read_text() == _config_stamp(kernel):
		return
	kernel.out.mkdir(parents=True, exist_ok=True)
	make(kernel, *kernel.base)
	merge = source.BUILD_TREE / 'scripts/kconfig/merge_config.sh'
	run([merge, '-m', '-O', kernel.out, kernel.out / '.config'] + list(kernel.fragments),
	    logfile=kernel.log, env={'ARCH': ARCHES[kernel.arch].make_arch})
	make(kernel, 'olddefconfig')
	# A symbol the tree at this commit does not define (one the series
	# adds, in a kernel built without it) is expected to go.
	lost = [d for d in dropped_symbols(kernel) if defined(d.split('=')[0])] if check_symbols else []
	if lost:
		raise common.CommandError(['kconfig'], 1, kernel.log,
					  'config symbols dropped by olddefconfig (unmet dependencies):\n  '
					  + '\n  '.join(lost))
	stamp.write_text(_config_stamp(kernel))


def targets_of(kernel: Kernel) -> list[str]:
	if kernel.objects:
		return list(kernel.objects)
	if kernel.package:
		return ['bindeb-pkg']
	return [ARCHES[kernel.arch].image_target, 'vmlinux'] + (['modules'] if kernel.modules else [])


def build(kernel: Kernel) -> float:
	"""Configure and build kernel at its commit; the seconds it took."""
	start = time.monotonic()
	kernel.log.parent.mkdir(parents=True, exist_ok=True)
	kernel.log.write_text('')
	source.checkout_build_tree(kernel.commit)
	try:
		log(f'building {kernel.name} ({kernel.arch}, {kernel.commit}) (log: {kernel.log})')
		configure(kernel)
		for stale in kernel.debs():     # another commit's package: keep one
			stale.unlink()
		make(kernel, *targets_of(kernel))
	finally:
		source.checkout_build_tree('HEAD')
	seconds = time.monotonic() - start
	log(f'built {kernel.name} in {seconds:.0f} s')
	return seconds
