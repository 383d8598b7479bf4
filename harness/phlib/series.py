# SPDX-License-Identifier: GPL-2.0
"""Export build/linux (base..HEAD) to patches/ and check the two agree."""

import filecmp
import re
import tempfile
from pathlib import Path

from . import common
from .common import run, output

COVER = '0000-cover-letter.patch'
# A fixed abbreviation: git's automatic one grows with the object count,
# which a background gc changes, and the exported index lines with it.
FORMAT_PATCH = ['-c', 'core.abbrev=12', 'format-patch', '-q', '--cover-letter', '--zero-commit', '--no-signature',
		'--subject-prefix=PATCH', '--numbered', '--base=base', '--no-renames']


def _cover_text(path):
	"""(subject, blurb) of an existing cover letter, or placeholders."""
	if not path.exists():
		return None, None
	text = path.read_text()
	subject = re.search(r'^Subject: \[PATCH[^\]]*\] (.*(?:\n .*)*)', text, re.M)
	body = text.split('\n\n', 1)[1]
	blurb = re.split(r'^Panic Hooks Project \(\d+\):$', body, maxsplit=1, flags=re.M)[0]
	return (subject.group(1) if subject else None), blurb.rstrip('\n')


def _merge_cover(generated, subject, blurb, date):
	text = generated.read_text()
	# format-patch dates the cover letter now; the newest commit keeps it stable.
	text = re.sub(r'^Date: .*$', f'Date: {date}', text, count=1, flags=re.M)
	if subject:
		text = text.replace('*** SUBJECT HERE ***', subject)
	if blurb:
		text = text.replace('*** BLURB HERE ***', blurb)
	generated.write_text(text)


def _format(tree, dest):
	"""format-patch base..HEAD into dest, cover letter text kept."""
	run(['git', '-C', tree] + FORMAT_PATCH + ['-o', dest, 'base..HEAD'])
	subject, blurb = _cover_text(common.PATCHES / COVER)
	date = output(['git', '-C', tree, 'log', '-1', '--format=%aD', 'HEAD'])
	_merge_cover(Path(dest) / COVER, subject, blurb, date)
	names = sorted(p.name for p in Path(dest).glob('*.patch') if p.name != COVER)
	(Path(dest) / 'series').write_text(''.join(n + '\n' for n in names))


def export(tree=common.KERNEL_TREE):
	"""Replace patches/*.patch and patches/series with base..HEAD of tree."""
	dirty = output(['git', '-C', tree, 'status', '--porcelain', '--untracked-files=no'])
	if dirty:
		common.die(f'{tree} has uncommitted changes:\n{dirty}')
	common.PATCHES.mkdir(exist_ok=True)
	with tempfile.TemporaryDirectory() as tmp:
		_format(tree, tmp)
		for old in common.PATCHES.glob('*.patch'):
			old.unlink()
		for new in Path(tmp).iterdir():
			(common.PATCHES / new.name).write_bytes(new.read_bytes())
	return sorted(common.PATCHES.glob('*.patch'))


def disagreements(tree=common.KERNEL_TREE):
	"""Why patches/ and build/linux differ; empty when they agree."""
	problems = []
	dirty = output(['git', '-C', tree, 'status', '--porcelain', '--untracked-files=no'])
	if dirty:
		problems.append(f'{tree} has uncommitted changes:\n{dirty}')
	with tempfile.TemporaryDirectory() as tmp:
		_format(tree, tmp)
		fresh = sorted(p.name for p in Path(tmp).iterdir())
		kept = sorted(p.name for p in common.PATCHES.iterdir()
			      if p.suffix == '.patch' or p.name == 'series')
		for name in sorted(set(fresh) | set(kept)):
			a, b = Path(tmp) / name, common.PATCHES / name
			if not a.exists():
				problems.append(f'patches/{name} is not a commit of {tree}')
			elif not b.exists():
				problems.append(f'{tree} commit {name} is missing from patches/')
			elif not filecmp.cmp(a, b, shallow=False):
				problems.append(f'patches/{name} differs from {tree} (run: harness/ph export)')
	return problems
