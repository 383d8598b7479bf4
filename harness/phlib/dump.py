# SPDX-License-Identifier: GPL-2.0
"""Host-side reading of a saved dump: the flattened makedumpfile stream on
the guest's dump disk becomes an ELF vmcore; from it come the kernel log
(makedumpfile --dump-dmesg, no vmlinux needed) and the VMCOREINFO note."""

from dataclasses import dataclass
from pathlib import Path

from . import parsers
from .common import run


@dataclass
class Dump:
	vmcore: Path
	dmesg: str
	vmcoreinfo: dict[str, str]


class DumpError(Exception):
	pass


def vmcoreinfo(vmcore: Path) -> dict[str, str]:
	"""VMCOREINFO of an ELF vmcore as {KEY: value}."""
	with open(vmcore, 'rb') as f:
		head = f.read(1 << 20)     # the note segment sits right after the headers
	try:
		return parsers.vmcoreinfo(head)
	except parsers.ParseError as e:
		raise DumpError(f'{vmcore}: {e}') from e


def read_disk(disk: Path, workdir: Path, log: Path) -> Dump:
	"""Rebuild the vmcore from the dump disk and read it back out."""
	workdir = Path(workdir)
	vmcore = workdir / 'vmcore.elf'
	dmesg = workdir / 'vmcore-dmesg.txt'
	vmcore.unlink(missing_ok=True)
	dmesg.unlink(missing_ok=True)
	with open(disk, 'rb') as stream:
		if not stream.read(16).startswith(b'makedumpfile'):
			raise DumpError(f'{disk} holds no makedumpfile stream (the capture did not save one)')
		stream.seek(0)
		run(['makedumpfile', '-R', vmcore], logfile=log, input_data=stream.read())
	run(['makedumpfile', '--dump-dmesg', vmcore, dmesg], logfile=log)
	return Dump(vmcore, dmesg.read_text(errors='replace'), vmcoreinfo(vmcore))
