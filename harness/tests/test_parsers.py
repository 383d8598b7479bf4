# SPDX-License-Identifier: GPL-2.0
"""The pure parsers, each fed a good case and the bad cases a check relies
on them to notice."""

import struct
from collections import Counter

import pytest

from phlib import parsers


def _note(name: bytes, ntype: int, desc: bytes) -> bytes:
	pad = (lambda b: b + b'\0' * (-len(b) % 4))
	return struct.pack('<III', len(name) + 1, len(desc), ntype) + pad(name + b'\0') + pad(desc)


def _elf_core(notes: bytes) -> bytes:
	"""A minimal ELF64 core file: the header, one PT_NOTE, the notes."""
	ehdr = bytearray(64)
	ehdr[:5] = b'\x7fELF\x02'
	struct.pack_into('<Q', ehdr, 0x20, 64)              # e_phoff
	struct.pack_into('<HH', ehdr, 0x36, 56, 1)          # e_phentsize, e_phnum
	phdr = struct.pack('<IIQQQQQQ', parsers.PT_NOTE, 0, 64 + 56, 0, 0, len(notes), len(notes), 4)
	return bytes(ehdr) + phdr + notes


def test_vmcoreinfo_from_core() -> None:
	core = _elf_core(_note(b'CORE', 1, b'\1' * 20) +
			 _note(b'VMCOREINFO', 0, b'OSRELEASE=6.12\nPANIC_HOOKS=pvpanic:ok:1200\n'))
	info = parsers.vmcoreinfo(core)
	assert info['OSRELEASE'] == '6.12'
	assert info['PANIC_HOOKS'] == 'pvpanic:ok:1200'


def test_vmcoreinfo_missing_and_not_elf() -> None:
	with pytest.raises(parsers.ParseError):
		parsers.vmcoreinfo(_elf_core(_note(b'CORE', 1, b'x')))
	with pytest.raises(parsers.ParseError):
		parsers.vmcoreinfo(b'makedumpfile flattened stream')


def _kdump(version: int, info: bytes) -> bytes:
	"""A kdump-compressed header: 4 KiB blocks, VMCOREINFO after the sub header."""
	block = 4096
	head = bytearray(2 * block)
	head[:8] = parsers.KDUMP_SIGNATURE
	struct.pack_into('<i', head, 8, version)
	struct.pack_into('<i', head, 428, block)
	struct.pack_into('<qQ', head, block + 32, len(head), len(info))
	return bytes(head) + info


def test_kdump_compressed_vmcoreinfo() -> None:
	info = parsers.kdump_vmcoreinfo(_kdump(6, b'OSRELEASE=6.12.117\nPANIC_HOOKS=pvpanic:ok:9\n\0'))
	assert info['PANIC_HOOKS'] == 'pvpanic:ok:9'
	with pytest.raises(parsers.ParseError):
		parsers.kdump_vmcoreinfo(_kdump(2, b'OSRELEASE=x\n'))
	with pytest.raises(parsers.ParseError):
		parsers.kdump_vmcoreinfo(b'\x7fELF' + bytes(100))
	with pytest.raises(parsers.ParseError):          # truncated
		parsers.kdump_vmcoreinfo(_kdump(6, b'OSRELEASE=6.12\n')[:5000])


def test_panic_hooks_record() -> None:
	assert parsers.panic_hooks_record('disabled') is None
	assert parsers.panic_hooks_record('') == []
	rec = parsers.panic_hooks_record('hyperv:ok:10,pvpanic:reentered:0')
	assert rec is not None
	assert [(r.slot, r.status, r.ns) for r in rec] == [('hyperv', 'ok', 10),
							    ('pvpanic', 'reentered', 0)]
	rec = parsers.panic_hooks_record('pvpanic:ok:10,fadump:running:0')
	assert rec is not None and rec[1].status == 'running'
	for bad in ('pvpanic', 'pvpanic:fine:1', 'pvpanic:ok:-1', 'pvpanic:ok:1;x'):
		with pytest.raises(parsers.ParseError):
			parsers.panic_hooks_record(bad)


KTAP = """\
[    1.000000] KTAP version 1
[    1.000001] 1..2
[    1.000002]     KTAP version 1
[    1.000003]     # Subtest: panic_hooks
[    1.000004]     1..3
[    1.000005]     ok 1 order
[    1.000006]     not ok 2 reentry
[    1.000007]     ok 3 hyperv # SKIP not on UML
[    1.000008] not ok 1 panic_hooks
[    1.000009]     # Subtest: panic_halt
[    1.000010]     1..1
[    1.000011]     ok 1 - deadline_32bit
[    1.000012] ok 2 panic_halt
"""


def test_ktap_cases_and_skip_is_not_pass() -> None:
	cases = parsers.ktap(KTAP)
	assert [(c.suite, c.name, c.status) for c in cases] == [
		('panic_hooks', 'order', 'PASS'), ('panic_hooks', 'reentry', 'FAIL'),
		('panic_hooks', 'hyperv', 'SKIP'), ('panic_halt', 'deadline_32bit', 'PASS')]
	assert cases[2].reason == 'not on UML'


def test_ktap_suite_results_are_not_cases() -> None:
	assert parsers.ktap('ok 1 panic_hooks\n') == []


CHECKPATCH_OK = """\
0001.patch:10: WARNING:LONG_LINE: line length of 101 exceeds 100 columns
total: 0 errors, 1 warnings, 0 checks, 40 lines checked
"""


def test_checkpatch_summary() -> None:
	r = parsers.checkpatch(CHECKPATCH_OK)
	assert r.completed and r.warnings == 1
	assert r.findings == [('WARNING', 'LONG_LINE', 'line length of 101 exceeds 100 columns')]


def test_checkpatch_abort_is_not_completed() -> None:
	# What checkpatch.pl prints when it dies: no summary line.
	r = parsers.checkpatch('Can\'t locate object method "x" via package "y" at line 7.\n')
	assert not r.completed and not r.findings


def test_findings_count_occurrences() -> None:
	before = parsers.findings('kernel/panic.c:10:5: warning: unused variable \'x\'\n')
	now = parsers.findings('kernel/panic.c:10:5: warning: unused variable \'x\'\n'
			       'kernel/panic.c:90:5: warning: unused variable \'x\'\n'
			       '  CC kernel/panic.o\n')
	assert now == Counter({('kernel/panic.c', "warning: unused variable 'x'"): 2})
	# A second occurrence of a message the base already had is new.
	assert parsers.new_findings(now, before) == ["kernel/panic.c: warning: unused variable 'x'"]
	assert parsers.new_findings(before, now) == []


PATCH = """\
From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: Panic Hooks Project <panic-hooks@example.org>
Date: Thu, 1 Jan 2026 00:00:00 +0000
Subject: [PATCH v2 03/30] powerpc/fadump: Do not wait for ourselves when
 crash_fadump() is re-entered
To: Madhavan Srinivasan <maddy@linux.ibm.com>,
    Michael Ellerman <mpe@ellerman.id.au>
Cc: linuxppc-dev@lists.ozlabs.org

The problem first.

Then the fix, and why.

Fixes: f2a5e8f0023e ("powerpc/fadump: Fix the race in crash_fadump().")
Signed-off-by: Panic Hooks Project <panic-hooks@example.org>
---
 arch/powerpc/kernel/fadump.c | 2 +-
"""


def test_patch() -> None:
	p = parsers.patch(PATCH)
	assert (p.number, p.total, p.prefix) == (3, 30, 'powerpc/fadump')
	assert p.summary.startswith('Do not wait for ourselves when crash_fadump()')
	assert p.to == ['Madhavan Srinivasan <maddy@linux.ibm.com>', 'Michael Ellerman <mpe@ellerman.id.au>']
	assert p.cc == ['linuxppc-dev@lists.ozlabs.org']
	assert parsers.fixes(p.tag('Fixes')[0]).commit == 'f2a5e8f0023e'
	assert 'Signed-off-by' not in p.message.split('\n\n')[0]


def test_patch_without_prefix() -> None:
	with pytest.raises(parsers.ParseError):
		parsers.patch(PATCH.replace('powerpc/fadump: ', ''))


def test_fixes_malformed() -> None:
	for bad in ('f2a5e8f0023e', 'f2a5e8f ("short id")', 'xyz0123456789 ("not hex")'):
		with pytest.raises(parsers.ParseError):
			parsers.fixes(bad)


_KTAP = '''KTAP version 1
1..2
    KTAP version 1
    # Subtest: panic_halt
    1..2
    ok 1 test_a
    ok 2 test_b
ok 1 panic_halt
    KTAP version 1
    # Subtest: panic_hooks
    1..3
    ok 1 test_c
    ok 2 test_d
    ok 3 test_e
ok 2 panic_hooks
'''


def test_ktap_gaps_complete_run() -> None:
	assert parsers.ktap_gaps(_KTAP, {'panic_halt', 'panic_hooks'}) == []


def test_ktap_gaps_crash_inside_a_suite() -> None:
	"""The kernel died after case 2 of 3: two passes, but not a pass."""
	crashed = _KTAP.split('    ok 3 test_e')[0] + 'Kernel panic - not syncing: Oops\n'
	assert [c.status for c in parsers.ktap(crashed)] == ['PASS'] * 4
	assert parsers.ktap_gaps(crashed, {'panic_halt', 'panic_hooks'}) == [
		'panic_hooks: 2 of 3 planned cases',
		'panic_hooks: no result of its own (crashed or hung in it)']


def test_ktap_gaps_suite_missing() -> None:
	only_halt = _KTAP.split('    KTAP version 1\n    # Subtest: panic_hooks')[0]
	assert parsers.ktap_gaps(only_halt, {'panic_halt', 'panic_hooks'}) == [
		'panic_hooks: did not start']
