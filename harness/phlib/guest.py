# SPDX-License-Identifier: GPL-2.0
"""Guest initramfs images: the C /init from guest/ for each architecture,
and on x86_64 busybox-static, makedumpfile and kexec-tools from Debian with
their shared libraries. Every image carries the kernel it boots with as
/boot/vmlinuz and a capture image, so that the guest can load itself as
its own capture kernel (kexec-tools on x86_64, kexec_file_load() from
/init elsewhere)."""

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

from . import common
from .arches import ARCHES
from .common import run
from .kernels import Kernel

GUEST_OUT = common.BUILD / 'guest'
BUSYBOX = Path('/bin/busybox')
# Host programs that run in an x86_64 guest: the capture side, the boot side.
CAPTURE_PROGRAMS = ['/usr/bin/makedumpfile']
BOOT_PROGRAMS = ['/sbin/kexec']


@dataclass
class Guest:
	"""A built kernel and the image it boots with."""
	name: str
	arch: str
	image: Path
	initrd: Path
	vmlinux: Path


def _shared_libraries(program: str) -> list[str]:
	"""Absolute paths of the libraries ldd says program loads."""
	text = run(['ldd', program]).stdout.decode()
	libs = re.findall(r'=>\s+(/\S+)', text)
	libs += re.findall(r'^\s*(/\S+ld-linux\S*)\s', text, re.M)
	return sorted(set(libs))


def _gen_init_cpio() -> Path:
	"""The kernel's own cpio writer: makes device nodes without root."""
	from . import source
	tool = GUEST_OUT / 'gen_init_cpio'
	src = source.BUILD_TREE / 'usr' / 'gen_init_cpio.c'
	if not tool.exists() or tool.stat().st_mtime < src.stat().st_mtime:
		GUEST_OUT.mkdir(parents=True, exist_ok=True)
		run(['gcc', '-O2', '-o', tool, src])
	return tool


def build_init(arch: str) -> Path:
	"""Static /init from guest/init.c for arch."""
	GUEST_OUT.mkdir(parents=True, exist_ok=True)
	out = GUEST_OUT / f'init-{arch}'
	source = common.GUEST_SRC / 'init.c'
	if not out.exists() or out.stat().st_mtime < source.stat().st_mtime:
		run([ARCHES[arch].cc, '-static', '-O2', '-Wall', '-Wextra', '-Werror', '-o', out, source])
	return out


class Spec:
	"""A gen_init_cpio file list."""

	def __init__(self) -> None:
		self.lines: list[str] = []
		self.dirs: set[str] = set()

	def dir(self, path: str) -> None:
		parts = Path(path).parts[1:]
		for i in range(1, len(parts) + 1):
			d = '/' + '/'.join(parts[:i])
			if d not in self.dirs:
				self.dirs.add(d)
				self.lines.append(f'dir {d} 0755 0 0')

	def file(self, dest: str, host: Path, mode: str = '0755') -> None:
		self.dir(str(Path(dest).parent))
		self.lines.append(f'file {dest} {Path(host).resolve()} {mode} 0 0')

	def node(self, dest: str, kind: str, major: int, minor: int) -> None:
		self.dir(str(Path(dest).parent))
		self.lines.append(f'nod {dest} 0600 0 0 {kind} {major} {minor}')

	def link(self, dest: str, target: str) -> None:
		self.dir(str(Path(dest).parent))
		self.lines.append(f'slink {dest} {target} 0777 0 0')

	def program(self, path: str) -> None:
		self.file(path, Path(path))
		for lib in _shared_libraries(path):
			self.file(lib, Path(lib))


def _base_spec(arch: str, host_programs: list[str]) -> Spec:
	spec = Spec()
	for d in ('/proc', '/sys', '/dev', '/tmp'):
		spec.dir(d)
	spec.node('/dev/console', 'c', 5, 1)
	spec.node('/dev/null', 'c', 1, 3)
	spec.file('/init', build_init(arch))
	if arch == 'x86_64':
		spec.file('/bin/busybox', BUSYBOX)
		spec.link('/bin/sh', 'busybox')
	for program in host_programs:
		spec.program(program)
	return spec


def _write(spec: Spec, dest: Path) -> Path:
	listing = dest.with_suffix('.list')
	listing.write_text('\n'.join(spec.lines) + '\n')
	cpio = run([_gen_init_cpio(), listing]).stdout
	with gzip.open(dest, 'wb', compresslevel=6) as f:
		f.write(cpio)
	return dest


def build(kernel: Kernel) -> Guest:
	"""The boot image of kernel: /init, its modules in /lib/modules and,
	where its guest does kdump, itself as /boot/vmlinuz and the capture
	image as /boot/capture.img."""
	x86 = kernel.arch == 'x86_64'
	capture = _write(_base_spec(kernel.arch, CAPTURE_PROGRAMS if x86 else []),
			 GUEST_OUT / f'capture-{kernel.arch}.img')
	spec = _base_spec(kernel.arch, CAPTURE_PROGRAMS + BOOT_PROGRAMS if x86 else [])
	for ko in kernel.module_files():
		spec.file(f'/lib/modules/{ko.name}', ko, '0644')
	if ARCHES[kernel.arch].kdump:
		capture_kernel = kernel.vmlinux if ARCHES[kernel.arch].kexec_elf else kernel.image
		spec.file('/boot/vmlinuz', capture_kernel, '0644')
		spec.file('/boot/capture.img', capture, '0644')
	boot = _write(spec, GUEST_OUT / f'boot-{kernel.name}.img')
	return Guest(kernel.name, kernel.arch, kernel.image, boot, kernel.vmlinux)
