# SPDX-License-Identifier: GPL-2.0
"""Compiler-side checks of the files the series touches: W=1 and sparse on
their objects, kernel-doc on their comments; only new findings count."""

import re
import tempfile
from pathlib import Path

from . import build, common
from .common import run, output
from .report import expect


def touched(tree, suffixes):
	names = output(['git', '-C', tree, 'diff', '--name-only', '--diff-filter=AM', 'base..HEAD'])
	return [n for n in names.splitlines() if Path(n).suffix in suffixes]


def _normalise(text):
	"""Findings without line numbers or paths before the tree, so that the
	same finding at base and HEAD compares equal."""
	found = set()
	for line in text.splitlines():
		if 'warning:' in line or 'error:' in line:
			line = re.sub(r'^.*?((?:arch|drivers|include|kernel|lib|mm)/)', r'\1', line)
			found.add(re.sub(r':\d+(:\d+)?:', ':', line))
	return found


def kernel_doc(tree):
	"""scripts/kernel-doc -none -Wall on touched C files: no new warnings."""
	files = touched(tree, {'.c', '.h'})
	logfile = common.LOGS / 'kernel-doc.log'
	head = run([tree / 'scripts/kernel-doc', '-none', '-Wall'] + files, cwd=tree, check=False)
	now = _normalise((head.stdout + head.stderr).decode(errors='replace'))
	with tempfile.TemporaryDirectory() as tmp:
		existing = [f for f in files
			    if run(['git', '-C', tree, 'cat-file', '-e', f'base:{f}'], check=False).returncode == 0]
		for f in existing:
			dest = Path(tmp) / f
			dest.parent.mkdir(parents=True, exist_ok=True)
			dest.write_bytes(run(['git', '-C', tree, 'show', f'base:{f}']).stdout)
		before = set()
		if existing:
			old = run([tree / 'scripts/kernel-doc', '-none', '-Wall'] + existing, cwd=tmp,
				  check=False)
			before = _normalise((old.stdout + old.stderr).decode(errors='replace'))
	new = sorted(now - before)
	logfile.write_text('\n'.join(new) + '\n')
	expect(not new, f'{len(new)} new kernel-doc warning(s):\n     ' + '\n     '.join(new[:10]),
	       logfile)


def _w1_sparse(kernel, objects, logfile, sparse=True):
	"""Rebuild objects of kernel with W=1 and sparse (C=2); its findings."""
	logfile.write_text('')
	make_arch, cross, _, _ = build.ARCHES[kernel.arch]
	make = ['make', '-C', kernel.srctree, f'O={kernel.out}', f'ARCH={make_arch}',
		f'-j{common.jobs()}', 'W=1', f'LOCALVERSION=-{kernel.name}', f'CC=ccache {cross}gcc']
	if sparse:
		make.append('C=2')
	if cross:
		make.append(f'CROSS_COMPILE={cross}')
	proc = run(make + objects, logfile=logfile, env=build.BUILD_ENV, check=False)
	expect(proc.returncode == 0, f'W=1/sparse build of {kernel.name} failed', logfile)
	return _normalise(logfile.read_text())


def built_touched_objects(kernel, tree):
	"""Objects of the touched .c files that kernel builds (all of a compile
	test's objects)."""
	if kernel.objects:
		return list(kernel.objects)
	objects = [str(Path(c).with_suffix('.o')) for c in touched(tree, {'.c'})]
	return [o for o in objects if (kernel.out / o).exists()]


def _compare_w1(kernel, objects, baseline_findings, sparse=True):
	"""Findings of W=1 (and sparse) on objects of kernel that
	baseline_findings() (the same objects, unpatched, same config) does not
	also report: none allowed. The baseline is only asked for when there
	are findings to compare."""
	what = 'W=1 + sparse' if sparse else 'W=1'
	logfile = common.LOGS / f'w1-sparse-{kernel.name}.log'
	found = _w1_sparse(kernel, objects, logfile, sparse)
	new = sorted(found - baseline_findings()) if found else []
	expect(not new, f'{len(new)} new {what} finding(s) in {" ".join(objects)}:\n     ' +
	       '\n     '.join(new[:10]), logfile)
	return f'{what}: {len(objects)} objects, {len(found)} finding(s), none new'


def compiler_checks(kernel, tree, baseline):
	"""W=1 and sparse on the touched .c files built in kernel's config: no
	finding that the same objects of baseline (the unpatched tree) lack."""
	objects = built_touched_objects(kernel, tree)
	expect(objects, f'none of the touched files is built in {kernel.name}')
	old = [o for o in objects if (baseline.out / o).exists()]

	def before():
		logfile = common.LOGS / f'w1-sparse-{baseline.name}.log'
		return _w1_sparse(baseline, old, logfile) if old else set()
	return _compare_w1(kernel, objects, before)


def compiler_checks_vs_pristine(kernel, tree, src, sparse=True):
	"""As compiler_checks(), for kernels with no unpatched build of their
	own (other architectures, other configs): the baseline objects are
	compiled from the unpatched tree in the same config when needed."""
	objects = built_touched_objects(kernel, tree)
	expect(objects, f'none of the touched files is built in {kernel.name}')

	def before():
		old = [o for o in objects if (src.pristine / o).with_suffix('.c').exists()]
		if not old:
			return set()
		baseline = build.Kernel(f'{kernel.name}-unpatched', src.pristine, kernel.fragments,
					arch=kernel.arch, allow_undefined=True, objects=old)
		build.build(baseline)
		return _w1_sparse(baseline, old, common.LOGS / f'w1-sparse-{baseline.name}.log',
				  sparse)
	return _compare_w1(kernel, objects, before, sparse)
