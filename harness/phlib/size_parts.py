# SPDX-License-Identifier: GPL-2.0
"""Where the =y bytes of the pre-kdump hooks go: kernel/panic_hooks.o
compiled again without one part at a time, and without all of them, in a
scratch worktree at the hooks tip with the size-y-hooks configuration.
The parts are what the hooks' issues asked for beyond the mechanism
itself (slots, registration, each hook once, re-entry): messages, the
per-hook console line, timing, the corruption check, the VMCOREINFO
record. Each part is a set of exact edits of the source; an edit that no
longer matches it exactly once is an error, never a saving of zero."""

import dataclasses
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from . import common, kernels, source
from .context import Context

SOURCE = 'kernel/panic_hooks.c'
HEADER = 'kernel/panic_hooks_internal.h'
OBJECT = 'kernel/panic_hooks.o'
SCRATCH = 'size-parts'


@dataclass(frozen=True)
class Part:
	what: str
	edits: tuple[tuple[str, str], ...]     # of SOURCE: (exact text, replacement)
	# Of HEADER: the fields only this part uses, so that its bytes go too.
	header: tuple[tuple[str, str], ...] = ()


PARTS = (
	Part('the panic_hooks=off warnings, with what each slot loses', (
		('\t\t.off_loses = "the host is not told of a captured crash",\n', ''),
		('\t\t.off_loses = "no Hyper-V crash report, no arm64 VMBus unload",\n', ''),
		('\t\t.off_loses = "no SNP shutdown: kdump faults on RMP pages",\n', ''),
		('\t\t.off_loses = "fadump loses the other CPUs\' registers",\n', ''),
		('\t\tpr_warn("panic_hooks=off: %s: %s, unless crash_kexec_post_notifiers is set\\n",\n'
		 '\t\t\tpanic_hook_slots[slot].name, panic_hook_slots[slot].off_loses);\n', '\t\t{ }\n'),
	), header=(
		('\t/* What is no longer done before kdump with panic_hooks=off. */\n'
		 '\tconst char *off_loses;\n', ''),
	)),
	Part('the messages of a refused (un)registration', (
		('\tif (ret == -EBUSY)\n'
		 '\t\tpr_err("slot %s already taken by %ps, refusing %ps\\n",\n'
		 '\t\t       panic_hook_slots[slot].name, panic_hooks.hook[slot].fn, fn);\n'
		 '\telse if (ret)\n'
		 '\t\tpr_err("refusing %ps for invalid slot %d\\n", fn, slot);\n', '\tif (ret)\n\t\t{ }\n'),
		('\tWARN(ret, "panic_hooks: %ps does not own slot %d\\n", fn, slot);\n', ''),
	)),
	Part('the messages of a malformed or off panic_hooks=', (
		('\tif (panic_hooks_parse_param(val, &panic_hooks.disabled)) {\n'
		 '\t\tpr_warn("malformed panic_hooks=%s (expected on or off), keeping them on\\n",\n'
		 '\t\t\tval ?: "");\n'
		 '\t\tpanic_hooks.disabled = false;\n'
		 '\t} else if (panic_hooks.disabled) {\n'
		 '\t\tpr_warn("disabled by panic_hooks=%s: nothing runs before kdump\\n", val);\n'
		 '\t}\n',
		 '\tif (panic_hooks_parse_param(val, &panic_hooks.disabled))\n'
		 '\t\tpanic_hooks.disabled = false;\n'),
	)),
	Part('the message of a re-entered hook', (
		('\t\t\tpr_emerg("hook %s re-entered the panic path, not calling it again\\n",\n'
		 '\t\t\t\t panic_hook_slots[slot].name);\n', ''),
	)),
	Part('the checks of a corrupted slot, and their messages', (
		('\tWRITE_ONCE(h->check, ~(unsigned long)fn);\n', ''),
		('\t\t} else if (!panic_hook_state_valid(old) &&\n'
		 '\t\t\t   atomic_cmpxchg(&h->state, old, PANIC_HOOK_CORRUPT) == old) {\n'
		 '\t\t\t/* A stray write: whether the hook ran cannot be told. */\n'
		 '\t\t\tpr_emerg("slot %s holds a corrupted state, skipped\\n",\n'
		 '\t\t\t\t panic_hook_slots[slot].name);\n'
		 '\t\t}\n', '\t\t}\n'),
		('\tif (READ_ONCE(h->check) != ~(unsigned long)fn) {\n'
		 '\t\tatomic_set(&h->state, PANIC_HOOK_CORRUPT);\n'
		 '\t\tpr_emerg("slot %s holds a corrupted callback, skipped\\n",\n'
		 '\t\t\t panic_hook_slots[slot].name);\n'
		 '\t\treturn false;\n'
		 '\t}\n', ''),
	), header=(
		('\t/* ~fn, written with it: a stray write rarely hits both consistently. */\n'
		 '\tunsigned long check;\n', ''),
	)),
	Part('the console line of each hook that ran', (
		('\tbool ran[PANIC_HOOK_NR];\n', ''),
		('\t\tran[slot] = run_slot(t, slot, capture_follows);\n',
		 '\t\trun_slot(t, slot, capture_follows);\n'),
		('\tfor (slot = 0; slot < PANIC_HOOK_NR; slot++)\n'
		 '\t\tif (ran[slot] && capture_follows)\n'
		 '\t\t\tpr_info("ran %s hook %ps in %llu ns\\n", panic_hook_slots[slot].name,\n'
		 '\t\t\t\tt->hook[slot].fn, t->hook[slot].ns);\n', ''),
	)),
	Part('the timing of each hook (two clock reads)', (
		('\tu64 start;\n\n\tWRITE_ONCE(t->running, slot);\n\tstart = local_clock();\n',
		 '\n\tWRITE_ONCE(t->running, slot);\n'),
		('\th->ns = local_clock() - start;\n', ''),
	)),
	Part('the PANIC_HOOKS= record in VMCOREINFO', (
		('#if IS_ENABLED(CONFIG_VMCORE_INFO) || IS_ENABLED(CONFIG_KUNIT)\n',
		 '#if IS_ENABLED(CONFIG_KUNIT)\n'),
		('\twrite_record(&panic_hooks, vmcoreinfo_append_str);\n', ''),
	)),
)


# With every part gone, nothing reads a hook's time any more.
ALL_GONE = Part('the time of each hook, kept for the record and the console line', (), header=(
	('\tu64 ns;\n', ''),
))


class Mismatch(Exception):
	"""A part's edit no longer matches the source exactly once."""


def _edit(text: str, edits: tuple[tuple[str, str], ...], what: str, path: str) -> str:
	for old, new in edits:
		found = text.count(old)
		if found != 1:
			raise Mismatch(f'{what}: "{old.strip().splitlines()[0]}" is in {path} '
				       f'{found} times, not once')
		text = text.replace(old, new)
	return text


def without(texts: dict[str, str], parts: Sequence[Part]) -> dict[str, str]:
	"""{SOURCE: text, HEADER: text} with every edit of parts made;
	Mismatch when one does not match exactly once (the source changed:
	the part must be written again). All of PARTS gone takes ALL_GONE."""
	source_text, header_text = texts[SOURCE], texts[HEADER]
	if list(parts) == list(PARTS):
		parts = list(parts) + [ALL_GONE]
	for part in parts:
		source_text = _edit(source_text, part.edits, part.what, SOURCE)
		header_text = _edit(header_text, part.header, part.what, HEADER)
	return {SOURCE: source_text, HEADER: header_text}


def match(texts: dict[str, str]) -> str:
	"""Every part applies to the sources alone and with all the others."""
	for part in PARTS:
		without(texts, [part])
	without(texts, PARTS)
	return f'{len(PARTS)} parts apply to {SOURCE} and {HEADER}, alone and together'


def sources_at(commit: str) -> dict[str, str]:
	"""SOURCE and HEADER at a commit of build/linux (see source.resolve())."""
	# output() strips each file's last newline.
	return {path: common.output(['git', '-C', common.KERNEL_TREE, 'show',
				     f'{source.resolve(commit)}:{path}']) + '\n'
		for path in (SOURCE, HEADER)}


def measure(ctx: Context, name: str, size_of: Callable[[Path], int]) -> list[tuple[str, int]]:
	"""[(what, size_of(OBJECT))]: as built, then without each part, then
	without all of them; compiled at kernel name's commit and config."""
	kernel = ctx.kernel(name)
	commit = source.resolve(kernel.commit)
	texts = sources_at(commit)
	variants = [('as built', texts)] + [(f'without {p.what}', without(texts, [p]))
					     for p in PARTS]
	variants.append(('without all of the above', without(texts, PARTS)))
	tree = common.BUILD / SCRATCH
	scratch = dataclasses.replace(kernel, name=SCRATCH)
	shutil.rmtree(tree, ignore_errors=True)
	common.run(['git', '-C', common.KERNEL_TREE, 'worktree', 'prune'])
	common.run(['git', '-C', common.KERNEL_TREE, 'worktree', 'add', '-q', '--detach', tree, commit])
	try:
		scratch.out.mkdir(parents=True, exist_ok=True)
		scratch.log.write_text('')
		shutil.copy(kernel.out / '.config', scratch.out / '.config')
		kernels.make(scratch, 'olddefconfig', tree=tree)
		# As if compiled in the build tree: WARN() keeps the file's name.
		here, there = (os.path.relpath(t, o) for t, o in ((tree, scratch.out),
								    (source.BUILD_TREE, kernel.out)))
		as_there = (f'KCFLAGS=-fmacro-prefix-map={here}/={there}/',)
		sizes = []
		for what, variant in variants:
			for path, text in variant.items():
				(tree / path).write_text(text)
			# Not left to make's view of the times: compiled for certain.
			(scratch.out / OBJECT).unlink(missing_ok=True)
			kernels.make(scratch, OBJECT, tree=tree, extra=as_there)
			if not (scratch.out / OBJECT).exists():
				raise Mismatch(f'{what}: make did not write {OBJECT}')
			sizes.append((what, size_of(scratch.out / OBJECT)))
		return sizes
	finally:
		common.run(['git', '-C', common.KERNEL_TREE, 'worktree', 'remove', '--force', tree],
			   check=False)
		shutil.rmtree(scratch.out, ignore_errors=True)
