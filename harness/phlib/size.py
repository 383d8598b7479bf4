# SPDX-License-Identifier: GPL-2.0
"""What the series costs in vmlinux: `size` (text, data, bss) of the x86_64
guest without test code, with CONFIG_PANIC_HOOKS=n (no slot user built)
and =y (pvpanic built in), at base, after the pre-kdump hooks part of the
series, and with the whole series (the halt added), per object of the
files the series touches as well as in total. Targets: =n adds nothing
for the hooks; =y adds under 1 KiB beyond base."""

from dataclasses import dataclass
from pathlib import Path

from . import lint, source
from .common import output
from .context import Context, Unavailable

STAGES = ('base', 'hooks', 'series')
Y_BUDGET = 1024


@dataclass
class Size:
	text: int
	data: int
	bss: int

	@property
	def total(self) -> int:
		return self.text + self.data + self.bss

	def __sub__(self, other: 'Size') -> 'Size':
		return Size(self.text - other.text, self.data - other.data, self.bss - other.bss)


def of(path: Path) -> Size:
	"""size(1) of an ELF file (Berkeley format)."""
	fields = output(['size', '-B', path]).splitlines()[1].split()
	return Size(int(fields[0]), int(fields[1]), int(fields[2]))


def _fmt(s: Size, signed: bool = False) -> str:
	f = '+8d' if signed else '8d'
	return f'{s.text:{f}} {s.data:{f}} {s.bss:{f}} {s.total:{f}}'


def run(ctx: Context) -> bool:
	"""Print the size table; True when both targets are met."""
	built = {}
	for config in ('n', 'y'):
		for stage in STAGES:
			name = f'size-{config}-{stage}'
			try:
				built[(config, stage)] = ctx.kernel(name)
			except Unavailable as e:
				print(f'{name}: {e}')
				return False
	objects = [o for o in lint.touched_objects(built[('y', 'series')], source.BUILD_TREE)]
	ok = True
	print(f'\nvmlinux of the x86_64 guest, no test code (bytes){"":20}text     data      bss    total')
	for config in ('n', 'y'):
		sizes = {stage: of(built[(config, stage)].vmlinux) for stage in STAGES}
		print(f'CONFIG_PANIC_HOOKS={config}')
		print(f'  6.12 (base){"":38}{_fmt(sizes["base"])}')
		hooks = sizes['hooks'] - sizes['base']
		halt = sizes['series'] - sizes['hooks']
		print(f'  pre-kdump hooks (patches up to the kdump documentation) {_fmt(hooks, True)}')
		print(f'  halt of the panicked CPU (the rest of the series)       {_fmt(halt, True)}')
		if config == 'n':
			verdict = hooks.total == 0
			print(f'  target: the hooks add nothing with =n: {"met" if verdict else "NOT MET"}')
		else:
			verdict = hooks.total < Y_BUDGET
			print(f'  target: the hooks add under {Y_BUDGET} bytes with =y: '
			      f'{"met" if verdict else "NOT MET"}')
		ok = ok and verdict
		print('  by object (hooks part), where it changed:')
		for obj in objects:
			base = built[(config, 'base')].out / obj
			tip = built[(config, 'hooks')].out / obj
			if tip.exists():
				delta = of(tip) - (of(base) if base.exists() else Size(0, 0, 0))
				if delta.total:
					print(f'    {obj:50} {_fmt(delta, True)}')
	return ok
