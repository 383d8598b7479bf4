# SPDX-License-Identifier: GPL-2.0
"""W=1 and sparse on the objects of the files the series touches, in each
kernel's configuration: no finding, counted per message, that the same
objects of the unpatched tree in the same configuration lack."""

import dataclasses
import shutil
from collections import Counter
from pathlib import Path

from . import common, kernels, parsers, source
from .common import output
from .context import Context
from .kernels import Kernel
from .report import expect


def touched(tree: Path, suffixes: tuple[str, ...]) -> list[str]:
	names = output(['git', '-C', tree, 'diff', '--name-only', '--diff-filter=AM', 'base..HEAD'])
	return [n for n in names.splitlines() if n.endswith(suffixes)]


def touched_objects(kernel: Kernel, tree: Path) -> list[str]:
	"""Objects of the touched .c files that kernel builds (all of a compile
	test's objects)."""
	if kernel.objects:
		return list(kernel.objects)
	return [c[:-2] + '.o' for c in touched(tree, ('.c',)) if kernel.builds(c[:-2] + '.o')]


def _findings(kernel: Kernel, objects: list[str], sparse: bool, logfile: Path) -> Counter:
	"""Rebuild objects with W=1 (and sparse, C=2): their findings. Each
	object is removed first, so that it is compiled whatever make thinks
	of its age, and must exist after: an object make skipped would have
	no findings to report."""
	logfile.write_text('')
	for o in objects:
		(kernel.out / o).unlink(missing_ok=True)
	extra = ('W=1', 'C=2') if sparse else ('W=1',)
	proc = kernels.make(kernel, *objects, extra=extra, logfile=logfile, check=False)
	expect(proc.returncode == 0, f'W=1/sparse build of {kernel.name} failed', logfile)
	missing = [o for o in objects if not (kernel.out / o).exists()]
	expect(not missing, f'make did not write {" ".join(missing)}', logfile)
	return parsers.findings(logfile.read_text())


def _at_base(kernel: Kernel) -> Kernel:
	"""kernel's configuration at base, in an output directory of its own
	(a commit without the series' Kconfig symbols would rewrite the
	original's .config), from a copy of its .config."""
	twin = dataclasses.replace(kernel, name=f'{kernel.name}-lint-base', commit='base')
	twin.out.mkdir(parents=True, exist_ok=True)
	shutil.copy(kernel.out / '.config', twin.out / '.config')
	kernels.make(twin, 'olddefconfig', logfile=twin.log)
	return twin


def compiler_checks(ctx: Context, name: str, sparse: bool = True) -> str:
	"""W=1 (and sparse where Debian's sparse copes) on the touched objects
	of kernel name: nothing new against the same objects at base, in the
	same configuration, compiled only when there are findings to compare."""
	kernel = ctx.kernel(name)
	tree = source.BUILD_TREE
	what = 'W=1 + sparse' if sparse else 'W=1'
	objects = touched_objects(kernel, tree)
	expect(objects, f'none of the touched files is built in {kernel.name}')
	logfile = common.LOGS / f'w1-sparse-{kernel.name}.log'
	found = _findings(kernel, objects, sparse, logfile)
	new: list[str] = []
	if found:
		old = [o for o in objects if output(['git', '-C', tree, 'ls-tree', '--name-only', 'base',
						     o[:-2] + '.c'])]
		before: Counter = Counter()
		if old:
			source.checkout_build_tree('base')
			try:
				twin = _at_base(kernel)
				before = _findings(twin, old, sparse,
						   common.LOGS / f'w1-sparse-{kernel.name}-base.log')
			finally:
				source.checkout_build_tree('HEAD')
		new = parsers.new_findings(found, before)
	expect(not new, f'{len(new)} new {what} finding(s):\n     ' + '\n     '.join(new[:10]),
	       logfile)
	return f'{what}: {len(objects)} objects, {sum(found.values())} finding(s), none new'
