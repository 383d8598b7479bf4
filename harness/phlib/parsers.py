# SPDX-License-Identifier: GPL-2.0
"""Pure parsers of what the tools and the guests say: ELF notes and
VMCOREINFO, KTAP, checkpatch and compiler findings, patch files. No I/O,
no processes: each takes text or bytes and returns data, so that each can
be tested on its own, bad cases included (harness/tests/)."""

import re
import struct
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator, Optional

PT_NOTE = 4


class ParseError(Exception):
	pass


# ELF notes and VMCOREINFO ------------------------------------------------

def elf_notes(data: bytes) -> Iterator[tuple[str, int, bytes]]:
	"""(name, type, desc) of every note of a little-endian ELF64 core file."""
	if data[:4] != b'\x7fELF' or data[4] != 2:
		raise ParseError('not an ELF64 file')
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


def vmcoreinfo_text(text: str) -> dict[str, str]:
	"""KEY=value lines of a VMCOREINFO note as {KEY: value}."""
	info = {}
	for line in text.splitlines():
		key, sep, value = line.partition('=')
		if sep:
			info[key] = value
	return info


def vmcoreinfo(data: bytes) -> dict[str, str]:
	"""VMCOREINFO of an ELF vmcore (its headers and notes) as {KEY: value}."""
	for name, _, desc in elf_notes(data):
		if name == 'VMCOREINFO':
			return vmcoreinfo_text(desc.rstrip(b'\0').decode(errors='replace'))
	raise ParseError('no VMCOREINFO note')


KDUMP_SIGNATURE = b'KDUMP   '
# struct disk_dump_header (makedumpfile's diskdump_mng.h, x86_64): the block
# size sits after the signature, the version, struct new_utsname (6 x 65)
# and an 8-aligned struct timeval; the sub header follows one block in,
# its offset_vmcoreinfo and size_vmcoreinfo at 32 and 40.
_KDUMP_BLOCK_SIZE = 428
_KDUMP_SUB_VMCOREINFO = 32


def kdump_vmcoreinfo(data: bytes) -> dict[str, str]:
	"""VMCOREINFO of a kdump-compressed dump (makedumpfile -c/-l/-p, what
	Debian's kdump-tools saves as dump.<timestamp>) as {KEY: value}."""
	if data[:8] != KDUMP_SIGNATURE:
		raise ParseError('not a kdump-compressed dump (no "KDUMP   " signature)')
	version, = struct.unpack_from('<i', data, 8)
	if version < 3:
		raise ParseError(f'kdump header version {version} carries no VMCOREINFO')
	block_size, = struct.unpack_from('<i', data, _KDUMP_BLOCK_SIZE)
	offset, size = struct.unpack_from('<qQ', data, block_size + _KDUMP_SUB_VMCOREINFO)
	if not size or offset + size > len(data):
		raise ParseError(f'VMCOREINFO at {offset} (+{size}) is not within the data given')
	return vmcoreinfo_text(data[offset:offset + size].rstrip(b'\0').decode(errors='replace'))


@dataclass
class HookRecord:
	slot: str
	status: str
	ns: int


def panic_hooks_record(value: str) -> Optional[list[HookRecord]]:
	"""The PANIC_HOOKS= value: its entries in order, None for "disabled"."""
	if value == 'disabled':
		return None
	entries = []
	for item in filter(None, value.split(',')):
		m = re.fullmatch(r'(\w+):(ok|reentered|corrupt|running):(\d+)', item)
		if not m:
			raise ParseError(f'malformed PANIC_HOOKS entry "{item}"')
		entries.append(HookRecord(m.group(1), m.group(2), int(m.group(3))))
	return entries


# KTAP --------------------------------------------------------------------

@dataclass
class KtapCase:
	suite: str
	name: str
	status: str          # PASS, FAIL or SKIP
	reason: str = ''


_TIMESTAMP = re.compile(r'^\[\s*[\d.]+\]\s?')
_RESULT = re.compile(r'^(\s*)(ok|not ok) (\d+)(?: (?:- )?([^#]*?))?\s*(?:#\s*(\w+)\s*(.*))?$')


def _walk_ktap(text: str) -> tuple[list[KtapCase], dict[str, int], set[str]]:
	"""KTAP output, console timestamps allowed: its cases, each suite's
	plan, and the suites that printed their own result. A suite starts
	with its "# Subtest:" line, indented as its cases and its plan are, and
	ends with its own result, indented less."""
	cases: list[KtapCase] = []
	plans: dict[str, int] = {}
	ended: set[str] = set()
	suites: list[tuple[int, str]] = []
	for raw in text.splitlines():
		line = _TIMESTAMP.sub('', raw)
		sub = re.match(r'^(\s*)# Subtest: (\S+)', line)
		if sub:
			suites.append((len(sub.group(1)), sub.group(2)))
			continue
		plan = re.match(r'^(\s*)1\.\.(\d+)\s*$', line)
		if plan and suites and len(plan.group(1)) == suites[-1][0]:
			plans.setdefault(suites[-1][1], int(plan.group(2)))
			continue
		m = _RESULT.match(line)
		if not m:
			continue
		indent, ok, _, name, directive, reason = m.groups()
		name = (name or '').strip()
		if suites and name == suites[-1][1] and len(indent) < suites[-1][0]:
			ended.add(suites.pop()[1])
			continue
		if not suites or len(indent) < suites[-1][0]:
			continue
		if directive and directive.upper() == 'SKIP':
			status = 'SKIP'
		else:
			status = 'PASS' if ok == 'ok' else 'FAIL'
		cases.append(KtapCase(suites[-1][1], name, status, (reason or '').strip()))
	return cases, plans, ended


def ktap(text: str) -> list[KtapCase]:
	"""The test cases of KTAP output (see _walk_ktap()). A "# SKIP"
	directive makes a case SKIP whatever its ok; only a plain "ok" is a
	PASS."""
	return _walk_ktap(text)[0]


def ktap_gaps(text: str, suites: set[str]) -> list[str]:
	"""What a complete run of these suites lacks in KTAP output: a suite
	that never started, fewer cases than its plan, or no result line of
	its own (the kernel crashed or hung inside it). kunit.py run
	--raw_output exits 0 whatever the output held, and ktap() sees only
	the cases that printed: this is what makes a crash after case 4 of
	16 a failure rather than four passes."""
	cases, plans, ended = _walk_ktap(text)
	ran = Counter(c.suite for c in cases)
	gaps = []
	for suite in sorted(suites):
		if suite not in plans:
			gaps.append(f'{suite}: did not start' if not ran[suite] else f'{suite}: no plan')
		elif ran[suite] != plans[suite]:
			gaps.append(f'{suite}: {ran[suite]} of {plans[suite]} planned cases')
		if suite in plans and suite not in ended:
			gaps.append(f'{suite}: no result of its own (crashed or hung in it)')
	return gaps


# checkpatch --------------------------------------------------------------

@dataclass
class Checkpatch:
	findings: list[tuple[str, str, str]]      # (level, type, text)
	errors: int = 0
	warnings: int = 0
	checks: int = 0
	completed: bool = False                   # the summary line was printed


def checkpatch(output: str) -> Checkpatch:
	"""checkpatch.pl --show-types output (ending with its summary line)."""
	result = Checkpatch([])
	for line in output.splitlines():
		m = re.search(r'\b(ERROR|WARNING|CHECK):([A-Z_0-9]+): (.*)$', line)
		if m:
			result.findings.append((m.group(1), m.group(2), m.group(3)))
			continue
		s = re.search(r'total: (\d+) errors?, (\d+) warnings?, (?:(\d+) checks?, )?\d+ lines checked',
			      line)
		if s:
			result.errors, result.warnings = int(s.group(1)), int(s.group(2))
			result.checks = int(s.group(3) or 0)
			result.completed = True
	return result


# Compiler and kernel-doc findings -----------------------------------------

def findings(text: str) -> Counter:
	"""warning:/error: lines as a multiset of (file, message): paths from
	the tree's top, line numbers dropped so that the same finding at base
	and HEAD compares equal, but counted, so that a new occurrence of an
	old message is still new."""
	found: Counter = Counter()
	for line in text.splitlines():
		m = re.search(r'((?:arch|drivers|include|kernel|lib|mm|fs|net|tools)/[^\s:]+):'
			      r'(?:\d+:)?(?:\d+:)?\s*((?:warning|error): .*)$', line)
		if m:
			found[(m.group(1), m.group(2).strip())] += 1
	return found


def new_findings(now: Counter, before: Counter) -> list[str]:
	"""What now has beyond before, as 'file: message (xN)'."""
	extra = now - before
	return [f'{f}: {msg}' + (f' (x{n})' if n > 1 else '') for (f, msg), n in sorted(extra.items())]


# Patch files ---------------------------------------------------------------

@dataclass
class Patch:
	number: int
	total: int
	prefix: str
	summary: str
	author: str
	message: str                  # the commit message, headers removed
	tags: list[tuple[str, str]] = field(default_factory=list)
	to: list[str] = field(default_factory=list)
	cc: list[str] = field(default_factory=list)

	def tag(self, name: str) -> list[str]:
		return [v for k, v in self.tags if k == name]


_SUBJECT = re.compile(r'^Subject: \[PATCH(?: v\d+)? (\d+)/(\d+)\] ([A-Za-z0-9_/.,: -]+?): (\S.*)$')
_TAG = re.compile(r'^([A-Z][A-Za-z-]+): (.+)$')


def _header_values(header: str, name: str) -> list[str]:
	"""A mail header's values, continuation lines joined, split on commas."""
	values = []
	lines = header.splitlines()
	for i, line in enumerate(lines):
		if line.startswith(f'{name}: '):
			text = line[len(name) + 2:]
			for cont in lines[i + 1:]:
				if not cont.startswith((' ', '\t')):
					break
				text += ' ' + cont.strip()
			values += [v.strip() for v in text.split(',') if v.strip()]
	return values


def patch(text: str) -> Patch:
	"""A git format-patch file: subject parts, author, message, trailers."""
	header, _, rest = text.partition('\n\n')
	unfolded = re.sub(r'\n[ \t]+', ' ', header)
	m = next((_SUBJECT.match(ln) for ln in unfolded.splitlines() if _SUBJECT.match(ln)), None)
	if not m:
		raise ParseError('no "Subject: [PATCH n/m] prefix: summary" header')
	author = next((ln[6:] for ln in unfolded.splitlines() if ln.startswith('From: ')), '')
	message = rest.split('\n---\n', 1)[0]
	tags = [(t.group(1), t.group(2).strip()) for t in map(_TAG.match, message.splitlines()) if t]
	return Patch(int(m.group(1)), int(m.group(2)), m.group(3), m.group(4), author, message, tags,
		     _header_values(header, 'To'), _header_values(header, 'Cc'))


@dataclass
class Fixes:
	commit: str
	subject: str


def fixes(value: str) -> Fixes:
	"""A Fixes: tag value, '<12+ hex> ("<subject>")'."""
	m = re.fullmatch(r'([0-9a-f]{12,40}) \("(.+)"\)', value)
	if not m:
		raise ParseError(f'Fixes: {value} is not <12+ hex digits> ("<subject>")')
	return Fixes(m.group(1), m.group(2))
