# SPDX-License-Identifier: GPL-2.0
"""Host-side reading of a saved dump: the flattened makedumpfile stream on
the guest's dump disk becomes an ELF vmcore; from it come the kernel log
(makedumpfile --dump-dmesg, no vmlinux needed) and the VMCOREINFO note."""

import struct
from dataclasses import dataclass
from pathlib import Path

from .common import run

PT_NOTE = 4


@dataclass
class Dump:
	vmcore: Path
	dmesg: str
	vmcoreinfo: dict


class DumpError(Exception):
	pass


def _notes(data):
	"""(name, type, desc) of every note in an ELF64 core file."""
	if data[:4] != b'\x7fELF' or data[4] != 2:
		raise DumpError('not an ELF64 file')
	phoff, = struct.unpack_from('<Q', data, 0x20)
	phentsize, phnum = struct.unpack_from('<HH', data, 0x36)
	for i in range(phnum):
		p_type, _, p_offset, _, _, p_filesz = struct.unpack_from('<IIQQQQ', data,
									 phoff + i * phentsize)
		if p_type != PT_NOTE:
			continue
		pos, end = p_offset, p_offset + p_filesz
		while pos + 12 <= end:
			namesz, descsz, ntype = struct.unpack_from('<III', data, pos)
			pos += 12
			name = data[pos:pos + namesz].rstrip(b'\0').decode(errors='replace')
			pos += (namesz + 3) & ~3
			desc = data[pos:pos + descsz]
			pos += (descsz + 3) & ~3
			yield name, ntype, desc


def vmcoreinfo(vmcore):
	"""VMCOREINFO of an ELF vmcore as {KEY: value}."""
	with open(vmcore, 'rb') as f:
		head = f.read(1 << 20)     # the note segment sits right after the headers
	for name, _, desc in _notes(head):
		if name == 'VMCOREINFO':
			info = {}
			for line in desc.rstrip(b'\0').decode(errors='replace').splitlines():
				key, sep, value = line.partition('=')
				if sep:
					info[key] = value
			return info
	raise DumpError(f'{vmcore} has no VMCOREINFO note')


def read_disk(disk, workdir, log):
	"""Rebuild the vmcore from the dump disk and read it back out."""
	workdir = Path(workdir)
	vmcore = workdir / 'vmcore.elf'
	dmesg = workdir / 'vmcore-dmesg.txt'
	vmcore.unlink(missing_ok=True)
	dmesg.unlink(missing_ok=True)
	with open(disk, 'rb') as stream:
		head = stream.read(16)
		if not head.startswith(b'makedumpfile'):
			raise DumpError(f'{disk} holds no makedumpfile stream (the capture did not save one)')
		stream.seek(0)
		run(['makedumpfile', '-R', vmcore], logfile=log, input_data=stream.read())
	run(['makedumpfile', '--dump-dmesg', vmcore, dmesg], logfile=log)
	return Dump(vmcore, dmesg.read_text(errors='replace'), vmcoreinfo(vmcore))
