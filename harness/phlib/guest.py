# SPDX-License-Identifier: GPL-2.0
"""Guest initramfs images: the C /init from guest/, busybox-static,
makedumpfile and kexec-tools from Debian with their shared libraries.

The capture image holds what the capture kernel needs (init, makedumpfile);
the boot image adds kexec and /boot/{vmlinuz,capture.img} so the guest can
load itself as its own capture kernel."""

import gzip
import re
from pathlib import Path

from . import common
from .common import run

GUEST_OUT = common.BUILD / 'guest'
CAPTURE_PROGRAMS = ['/usr/bin/makedumpfile']
BOOT_PROGRAMS = ['/sbin/kexec']
BUSYBOX = Path('/bin/busybox')


def _shared_libraries(program):
	"""Absolute paths of the libraries ldd says program loads."""
	text = run(['ldd', program]).stdout.decode()
	libs = re.findall(r'=>\s+(/\S+)', text)
	libs += re.findall(r'^\s*(/\S+ld-linux\S*)\s', text, re.M)
	return sorted(set(libs))


def _gen_init_cpio(src):
	"""The kernel's own cpio writer: makes device nodes without root."""
	tool = GUEST_OUT / 'gen_init_cpio'
	source = src.pristine / 'usr' / 'gen_init_cpio.c'
	if not tool.exists() or tool.stat().st_mtime < source.stat().st_mtime:
		run(['gcc', '-O2', '-o', tool, source])
	return tool


def build_init(cross=''):
	"""Static /init from guest/init.c, with the cross compiler prefix given."""
	GUEST_OUT.mkdir(parents=True, exist_ok=True)
	out = GUEST_OUT / f'init{"-" + cross.rstrip("-") if cross else ""}'
	run([f'{cross}gcc', '-static', '-O2', '-Wall', '-Wextra', '-Werror', '-o', out,
	     common.GUEST_SRC / 'init.c'])
	return out


class Spec:
	"""A gen_init_cpio file list."""

	def __init__(self):
		self.lines = []
		self.dirs = set()

	def dir(self, path):
		parts = Path(path).parts[1:]
		for i in range(1, len(parts) + 1):
			d = '/' + '/'.join(parts[:i])
			if d not in self.dirs:
				self.dirs.add(d)
				self.lines.append(f'dir {d} 0755 0 0')

	def file(self, dest, host, mode='0755'):
		self.dir(str(Path(dest).parent))
		self.lines.append(f'file {dest} {Path(host).resolve()} {mode} 0 0')

	def node(self, dest, kind, major, minor):
		self.dir(str(Path(dest).parent))
		self.lines.append(f'nod {dest} 0600 0 0 {kind} {major} {minor}')

	def link(self, dest, target):
		self.dir(str(Path(dest).parent))
		self.lines.append(f'slink {dest} {target} 0777 0 0')

	def program(self, path):
		self.file(path, path)
		for lib in _shared_libraries(path):
			self.file(lib, lib)


def _base_spec(init):
	spec = Spec()
	for d in ('/proc', '/sys', '/dev', '/tmp', '/bin', '/sbin'):
		spec.dir(d)
	spec.node('/dev/console', 'c', 5, 1)
	spec.node('/dev/null', 'c', 1, 3)
	spec.file('/init', init)
	spec.file('/bin/busybox', BUSYBOX)
	spec.link('/bin/sh', 'busybox')
	for program in CAPTURE_PROGRAMS:
		spec.program(program)
	return spec


def _write(spec, tool, dest):
	listing = dest.with_suffix('.list')
	listing.write_text('\n'.join(spec.lines) + '\n')
	cpio = run([tool, listing]).stdout
	with gzip.open(dest, 'wb', compresslevel=6) as f:
		f.write(cpio)
	return dest


def build_images(src, kernel_image, name, modules=()):
	"""(boot initrd, capture initrd) for the kernel at kernel_image, with
	its modules in /lib/modules/<name>.ko."""
	init = build_init()
	tool = _gen_init_cpio(src)
	capture = _write(_base_spec(init), tool, GUEST_OUT / 'capture.img')
	spec = _base_spec(init)
	for program in BOOT_PROGRAMS:
		spec.program(program)
	for ko in modules:
		spec.file(f'/lib/modules/{Path(ko).name}', ko, '0644')
	spec.file('/boot/vmlinuz', kernel_image, '0644')
	spec.file('/boot/capture.img', capture, '0644')
	boot = _write(spec, tool, GUEST_OUT / f'boot-{name}.img')
	return boot, capture


def build_minimal_image(src, name, cross):
	"""An initrd with only /init, for another architecture's guest: enough
	to idle or panic (no kexec or makedumpfile for it here)."""
	spec = Spec()
	for d in ('/proc', '/sys', '/dev'):
		spec.dir(d)
	spec.node('/dev/console', 'c', 5, 1)
	spec.file('/init', build_init(cross))
	return _write(spec, _gen_init_cpio(src), GUEST_OUT / f'boot-{name}.img')
