# SPDX-License-Identifier: GPL-2.0
"""Kernel configuration (tinyconfig + fragments from configs/) and
out-of-tree builds through ccache."""

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import common
from .common import log, run

ARCHES = {
	# arch: (make ARCH, CROSS_COMPILE, image target, image path under O=)
	'x86_64': ('x86_64', '', 'bzImage', 'arch/x86/boot/bzImage'),
	'arm64': ('arm64', 'aarch64-linux-gnu-', 'Image', 'arch/arm64/boot/Image'),
	'riscv64': ('riscv', 'riscv64-linux-gnu-', 'Image', 'arch/riscv/boot/Image'),
	'ppc64le': ('powerpc', 'powerpc64le-linux-gnu-', 'vmlinux', 'vmlinux'),
	's390x': ('s390', 's390x-linux-gnu-', 'bzImage', 'arch/s390/boot/bzImage'),
}

# Build identity fixed so that a rebuild of the same tree hits ccache.
BUILD_ENV = {
	'KBUILD_BUILD_USER': 'panic-hooks',
	'KBUILD_BUILD_HOST': 'harness',
	'KBUILD_BUILD_TIMESTAMP': 'Thu Jan  1 00:00:00 UTC 2026',
	'CCACHE_DIR': str(common.CACHE / 'ccache'),
	'CCACHE_MAXSIZE': '8G',
	'CCACHE_NOHASHDIR': '1',
	'CCACHE_BASEDIR': '/',
}


@dataclass
class Kernel:
	"""One kernel to build: a source tree, an arch and config fragments."""
	name: str
	srctree: Path
	fragments: list
	arch: str = 'x86_64'
	make_vars: dict = field(default_factory=dict)
	# Accept fragment symbols this tree does not define yet (bisect builds
	# of early patches); a defined symbol that is dropped still fails.
	allow_undefined: bool = False
	modules: bool = False
	# Compile only these objects (a compile test), not the image.
	objects: list = field(default_factory=list)

	@property
	def out(self):
		return common.OUT / self.name

	@property
	def image(self):
		return self.out / ARCHES[self.arch][3]

	@property
	def vmlinux(self):
		return self.out / 'vmlinux'

	def module_files(self):
		"""The .ko files of a kernel built with modules."""
		return sorted(self.out.rglob('*.ko')) if self.modules else []

	@property
	def log(self):
		return common.LOGS / f'build-{self.name}.log'


def _make(kernel, *targets, extra=()):
	make_arch, cross, _, _ = ARCHES[kernel.arch]
	argv = ['make', '-C', kernel.srctree, f'O={kernel.out}', f'ARCH={make_arch}',
		f'-j{common.jobs()}', f'CC=ccache {cross}gcc', 'HOSTCC=ccache gcc']
	if cross:
		argv.append(f'CROSS_COMPILE={cross}')
	# The kernel's name in its release string, so every log says which it is.
	argv.append(f'LOCALVERSION=-{kernel.name}')
	argv += [f'{k}={v}' for k, v in kernel.make_vars.items()]
	return run(argv + list(extra) + list(targets), logfile=kernel.log, env=BUILD_ENV)


def requested_symbols(fragments):
	"""{CONFIG_X: value} asked for by the fragments ('n' for 'is not set')."""
	wanted = {}
	for frag in fragments:
		for line in Path(frag).read_text().splitlines():
			m = re.match(r'^(CONFIG_\w+)=(.*)$', line) or \
				re.match(r'^# (CONFIG_\w+) is not set$', line)
			if m:
				wanted[m.group(1)] = m.group(2) if m.lastindex == 2 else 'n'
	return wanted


def _config_values(dotconfig):
	values = {}
	for line in Path(dotconfig).read_text().splitlines():
		m = re.match(r'^(CONFIG_\w+)=(.*)$', line)
		if m:
			values[m.group(1)] = m.group(2)
	return values


def _defined(srctree, sym):
	pattern = rf'^\s*(menu)?config {sym[len("CONFIG_"):]}\s*$'
	return run(['git', '-C', srctree, 'grep', '-q', '-E', pattern, '--', '*Kconfig*'],
		   check=False).returncode == 0


def dropped_symbols(kernel):
	"""Requested symbols that olddefconfig did not keep, as 'SYM=want (got)'."""
	have = _config_values(kernel.out / '.config')
	lost = []
	for sym, want in requested_symbols(kernel.fragments).items():
		got = have.get(sym, 'n')
		if got != want and not (kernel.allow_undefined and not _defined(kernel.srctree, sym)):
			lost.append(f'{sym}={want} (got {got})')
	return lost


def configure(kernel):
	"""tinyconfig, then the fragments merged on top, then olddefconfig."""
	kernel.out.mkdir(parents=True, exist_ok=True)
	_make(kernel, 'tinyconfig')
	merge = kernel.srctree / 'scripts/kconfig/merge_config.sh'
	run([merge, '-m', '-O', kernel.out, kernel.out / '.config'] + list(kernel.fragments),
	    logfile=kernel.log, env={'ARCH': ARCHES[kernel.arch][0]})
	_make(kernel, 'olddefconfig')
	lost = dropped_symbols(kernel)
	if lost:
		raise common.CommandError(['kconfig'], 1, kernel.log,
					  'config symbols dropped by olddefconfig (unmet dependencies):\n  '
					  + '\n  '.join(lost))


def build(kernel, targets=None):
	"""Configure and build; returns the seconds it took."""
	start = time.monotonic()
	kernel.log.parent.mkdir(parents=True, exist_ok=True)
	kernel.log.write_text('')
	log(f'building {kernel.name} ({kernel.arch}) from {kernel.srctree} (log: {kernel.log})')
	configure(kernel)
	targets = targets or kernel.objects or \
		[ARCHES[kernel.arch][2]] + (['modules'] if kernel.modules else [])
	_make(kernel, *targets)
	seconds = time.monotonic() - start
	log(f'built {kernel.name} in {seconds:.0f} s')
	return seconds
