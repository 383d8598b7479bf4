# SPDX-License-Identifier: GPL-2.0
"""Kernel source: Debian's linux-source-6.12, extracted once into the cache as
a git repository whose single commit is tagged 'base', and build/linux, a
clone of it with patches/series applied one commit per patch."""

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import common
from .common import log, run, output

PACKAGE = 'linux-source-6.12'
TARBALL = Path('/usr/src/linux-source-6.12.tar.xz')
# The Debian version patches/ is based on. Debian's security archive moves
# on every few weeks and an update can touch the lines the series changes
# (6.12.118 turned panic() into vpanic()), so the harness takes this
# version, fetched when the installed package is another; rebasing the
# series means changing this line.
SERIES_BASE = '6.12.118-1~deb12u1'
READY_MARK = 'panic-hooks-ready'

# Fixed identity and dates make the base commit, and so every commit of the
# series applied on it, the same on every machine.
GIT_ENV = {
	'GIT_AUTHOR_NAME': common.IDENTITY_NAME,
	'GIT_AUTHOR_EMAIL': common.IDENTITY_EMAIL,
	'GIT_COMMITTER_NAME': common.IDENTITY_NAME,
	'GIT_COMMITTER_EMAIL': common.IDENTITY_EMAIL,
	'GIT_AUTHOR_DATE': '2026-01-01T00:00:00Z',
	'GIT_COMMITTER_DATE': '2026-01-01T00:00:00Z',
}


@dataclass
class Source:
	debian_version: str     # e.g. 6.12.117-1~deb12u1
	kernel_version: str     # e.g. 6.12.117
	pristine: Path          # unpatched tree (cache), also the base repository


def debian_version():
	"""The installed linux-source-6.12's version."""
	return output(['dpkg-query', '-W', '-f', '${Version}', PACKAGE])


def _fetched_tarball(version):
	"""The tarball of linux-source-6.12 at version, downloaded once from
	Debian's archive into the cache (the installed package is left alone)."""
	dest = common.CACHE / 'debs' / version.replace('~', '_') / TARBALL.name
	if not dest.exists():
		log(f'fetching {PACKAGE} {version} from Debian (the installed one is '
		    f'{debian_version()})')
		dest.parent.mkdir(parents=True, exist_ok=True)
		with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
			run(['apt-get', 'download', f'{PACKAGE}={version}'], cwd=tmp)
			deb = next(Path(tmp).glob('*.deb'))
			run(['sh', '-c', f'dpkg-deb --fsys-tarfile "$1" | tar -xf - -C "$2" ".{TARBALL}"',
			     'sh', deb, tmp])
			(Path(tmp) / TARBALL.relative_to('/')).rename(dest)
	return dest


def _tarball():
	"""(version, tarball): the series' base, or the installed version with
	a warning when Debian's archive no longer has the base."""
	installed = debian_version()
	if installed == SERIES_BASE:
		return installed, TARBALL
	try:
		return SERIES_BASE, _fetched_tarball(SERIES_BASE)
	except (common.CommandError, StopIteration):
		log(f'WARNING: {PACKAGE} {SERIES_BASE}, which the series is based on, cannot be '
		    f'fetched; using the installed {installed}: rebase the series onto it and '
		    'set source.SERIES_BASE')
		return installed, TARBALL


def _kernel_version(tree):
	fields = {}
	for line in (tree / 'Makefile').read_text().splitlines()[:6]:
		key, _, value = line.partition('=')
		fields[key.strip()] = value.strip()
	return f'{fields["VERSION"]}.{fields["PATCHLEVEL"]}.{fields["SUBLEVEL"]}{fields["EXTRAVERSION"]}'


def _drop_debian_ignore_all(tree):
	"""Debian's tarball ends its top-level .gitignore with '/*' (its packaging
	repository keeps only debian/ at the top), which would hide the whole
	kernel from git. Remove that stanza; nothing else differs from the
	tarball."""
	gitignore = tree / '.gitignore'
	text = gitignore.read_text()
	marker = '#\n# Debian packaging: ignore everything at the top level'
	if marker in text:
		gitignore.write_text(text[:text.index(marker)])


def prepare_pristine():
	"""Extract the tarball into the cache once and commit it as 'base'."""
	common.ensure_packages()
	version, tarball = _tarball()
	# '~' in a path confuses make; the version stays exact in the commit.
	dest = common.CACHE / 'src' / ('linux-source-' + version.replace('~', '_'))
	if not (dest / '.git' / READY_MARK).exists():
		log(f'extracting {tarball} ({PACKAGE} {version}) into {dest}')
		dest.parent.mkdir(parents=True, exist_ok=True)
		shutil.rmtree(dest, ignore_errors=True)
		with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
			run(['tar', '-xf', tarball, '-C', tmp])
			tree = Path(tmp) / 'linux-source-6.12'
			_drop_debian_ignore_all(tree)
			log('committing the extracted tree as base')
			git = ['git', '-C', tree]
			run(git + ['init', '-q', '-b', 'main'])
			# -f: the tree's own .gitignore rules (".*", "*.bin", ...)
			# match files the tarball ships, .kunitconfig among them.
			run(git + ['add', '-A', '-f'])
			run(git + ['commit', '-q', '-m',
				   f'Debian {PACKAGE} {version}\n\n'
				   'Top-level .gitignore stanza of the Debian packaging removed.'],
			    env=GIT_ENV)
			run(git + ['tag', 'base'])
			(tree / '.git' / READY_MARK).touch()
			tree.rename(dest)
	src = Source(version, _kernel_version(dest), dest)
	log(f'kernel source: Debian {PACKAGE} {src.debian_version} (Linux {src.kernel_version})')
	return src


def series_files():
	"""Patch files named by patches/series, in order."""
	series = common.PATCHES / 'series'
	if not series.exists():
		return []
	names = [line.strip() for line in series.read_text().splitlines()]
	return [common.PATCHES / n for n in names if n and not n.startswith('#')]


class PatchFailed(Exception):
	pass


def apply_series(tree, patches):
	"""git am each patch onto tree; stop at the first that does not apply."""
	for patch in patches:
		proc = run(['git', '-C', tree, 'am', '-q', '--committer-date-is-author-date', patch],
			   env=GIT_ENV, check=False)
		if proc.returncode != 0:
			text = (proc.stdout + proc.stderr).decode(errors='replace')
			run(['git', '-C', tree, 'am', '--abort'], check=False)
			raise PatchFailed(f'{patch.name} does not apply:\n{text}')


BUILD_TREE = common.BUILD / 'tree'


def build_tree():
	"""A detached worktree of build/linux that every build runs in: one
	source path, so that ccache shares objects between configurations,
	and a place to walk the series without moving build/linux."""
	if not (BUILD_TREE / '.git').exists():
		run(['git', '-C', common.KERNEL_TREE, 'worktree', 'prune'])
		run(['git', '-C', common.KERNEL_TREE, 'worktree', 'add', '-q', '--detach', BUILD_TREE,
		     'HEAD'])
	return BUILD_TREE


SUBJECT = 'subject:'


def resolve(commit):
	"""A commit of build/linux ('HEAD', 'base', an id, or 'subject:<start>'
	for the patch of the series whose subject starts so) as a full id."""
	if commit.startswith(SUBJECT):
		start = commit[len(SUBJECT):]
		text = output(['git', '-C', common.KERNEL_TREE, 'log', '--format=%H %s', 'base..HEAD'])
		ids = [ln.split(' ', 1)[0] for ln in text.splitlines()
		       if ln.split(' ', 1)[1].startswith(start)]
		if len(ids) != 1:
			raise common.CommandError(['resolve', commit], 1, '(none)',
						  f'{len(ids)} patches of the series start "{start}"')
		return ids[0]
	return output(['git', '-C', common.KERNEL_TREE, 'rev-parse', '--verify', f'{commit}^{{commit}}'])


def checkout_build_tree(commit):
	"""Put the build tree at commit of build/linux (HEAD: its current HEAD)."""
	build_tree()
	want = resolve(commit)
	if output(['git', '-C', BUILD_TREE, 'rev-parse', 'HEAD']) != want:
		run(['git', '-C', BUILD_TREE, 'checkout', '-q', '--detach', want])


def tree_of(commit):
	"""The source tree of a commit of build/linux (see resolve())."""
	return output(['git', '-C', common.KERNEL_TREE, 'rev-parse', f'{resolve(commit)}^{{tree}}'])


def tree_id():
	"""The source tree the build tree holds now."""
	return output(['git', '-C', BUILD_TREE, 'rev-parse', 'HEAD^{tree}'])


def series_tree(tree, patches):
	"""The tree that patches produce on base, built in a scratch index
	without touching tree; raises PatchFailed naming the first that does
	not apply."""
	with tempfile.NamedTemporaryFile(dir=common.BUILD) as idx:
		env = {'GIT_INDEX_FILE': idx.name}
		run(['git', '-C', tree, 'read-tree', 'base'], env=env)
		for patch in patches:
			proc = run(['git', '-C', tree, 'apply', '--cached', patch], env=env, check=False)
			if proc.returncode != 0:
				text = (proc.stdout + proc.stderr).decode(errors='replace')
				raise PatchFailed(f'{patch.name} does not apply on base and the patches '
						  f'before it:\n{text}')
		return output(['git', '-C', tree, 'write-tree'], env=env)


def base_version(tree):
	"""The Debian version the base commit was made from (its subject)."""
	subject = output(['git', '-C', tree, 'log', '-1', '--format=%s', 'base'])
	return subject.rsplit(' ', 1)[-1]


def create_kernel_tree(src, force=False):
	"""build/linux: a clone of the base repository plus the series."""
	tree = common.KERNEL_TREE
	if tree.exists() and not force:
		return tree
	shutil.rmtree(tree, ignore_errors=True)
	tree.parent.mkdir(parents=True, exist_ok=True)
	log(f'cloning base into {tree}')
	run(['git', 'clone', '-q', '--no-tags', src.pristine, tree])
	run(['git', '-C', tree, 'tag', 'base', 'HEAD'])
	run(['git', '-C', tree, 'config', 'user.name', common.IDENTITY_NAME])
	run(['git', '-C', tree, 'config', 'user.email', common.IDENTITY_EMAIL])
	# No gc in the background of builds and exports.
	run(['git', '-C', tree, 'config', 'gc.auto', '0'])
	patches = series_files()
	log(f'applying {len(patches)} patches from patches/series')
	apply_series(tree, patches)
	return tree
