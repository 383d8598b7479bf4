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


def _w1_sparse(kernel, objects, logfile):
	"""Rebuild objects of kernel with W=1 and sparse (C=2); its findings."""
	logfile.write_text('')
	make = ['make', '-C', kernel.srctree, f'O={kernel.out}', f'-j{common.jobs()}', 'W=1', 'C=2',
		f'LOCALVERSION=-{kernel.name}', 'CC=ccache gcc']
	proc = run(make + objects, logfile=logfile, env=build.BUILD_ENV, check=False)
	expect(proc.returncode == 0, f'W=1/sparse build of {kernel.name} failed', logfile)
	return _normalise(logfile.read_text())


def compiler_checks(kernel, tree, baseline):
	"""W=1 and sparse on the touched .c files built in kernel's config: no
	finding that the same objects of baseline (the unpatched tree) lack."""
	objects = [str(Path(c).with_suffix('.o')) for c in touched(tree, {'.c'})
		   if (kernel.out / Path(c).with_suffix('.o')).exists()]
	expect(objects, f'none of the touched files is built in {kernel.name}')
	logfile = common.LOGS / f'w1-sparse-{kernel.name}.log'
	found = _w1_sparse(kernel, objects, logfile)
	old = [o for o in objects if (baseline.out / o).exists()]
	before = _w1_sparse(baseline, old, common.LOGS / f'w1-sparse-{baseline.name}.log') if old else set()
	new = sorted(found - before)
	expect(not new, f'{len(new)} new finding(s) in {" ".join(objects)}:\n     ' +
	       '\n     '.join(new[:10]), logfile)
	return objects
