# SPDX-License-Identifier: GPL-2.0
"""The one table of architectures: how to build a kernel for each, and how
to boot it under QEMU (TCG). A platform is an architecture plus the QEMU
machine it boots on (arm64 boots with GICv3 and with GICv2)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Arch:
	"""How to build a kernel and a static /init for one architecture."""
	name: str
	make_arch: str              # ARCH= for make
	cross: str                  # CROSS_COMPILE= prefix, '' for the host
	image_target: str           # make target of the bootable image
	image: str                  # its path under O=
	cc: str                     # compiler of the guest's static /init
	# Whether its guest loads itself as capture kernel (kexec-tools on
	# x86_64, kexec_file_load() elsewhere).
	kdump: bool = False
	# Whether kexec_file_load() takes only an ELF (riscv in 6.12 has no
	# Image loader): the guest then carries vmlinux as its capture kernel.
	kexec_elf: bool = False


@dataclass(frozen=True)
class Platform:
	"""One QEMU machine for an architecture's kernel."""
	name: str
	arch: str
	qemu: str
	machine: tuple[str, ...]
	console: str                # kernel command line for the serial console
	cpu: tuple[str, ...] = ()
	serial: tuple[str, ...] = ('-serial', 'stdio')
	# Whether QMP's inject-nmi gives the kernel an NMI it can panic on.
	nmi: bool = False


ARCHES = {a.name: a for a in (
	Arch('x86_64', 'x86_64', '', 'bzImage', 'arch/x86/boot/bzImage', 'gcc', kdump=True),
	Arch('i386', 'i386', '', 'bzImage', 'arch/x86/boot/bzImage', 'i686-linux-gnu-gcc'),
	Arch('arm64', 'arm64', 'aarch64-linux-gnu-', 'Image', 'arch/arm64/boot/Image',
	     'aarch64-linux-gnu-gcc', kdump=True),
	Arch('riscv64', 'riscv', 'riscv64-linux-gnu-', 'Image', 'arch/riscv/boot/Image',
	     'riscv64-linux-gnu-gcc', kdump=True, kexec_elf=True),
	Arch('ppc64le', 'powerpc', 'powerpc64le-linux-gnu-', 'vmlinux', 'vmlinux',
	     'powerpc64le-linux-gnu-gcc', kdump=True),
	Arch('s390x', 's390', 's390x-linux-gnu-', 'bzImage', 'arch/s390/boot/bzImage',
	     's390x-linux-gnu-gcc'),
	Arch('arm', 'arm', 'arm-linux-gnueabihf-', 'zImage', 'arch/arm/boot/zImage',
	     'arm-linux-gnueabihf-gcc'),
)}

# Cortex-A57 rather than -cpu max on arm64: TCG emulates max's pointer
# authentication slowly, and nothing here depends on it.
PLATFORMS = {p.name: p for p in (
	Platform('x86_64', 'x86_64', 'qemu-system-x86_64', ('-machine', 'q35'),
		 'console=ttyS0,115200 earlyprintk=serial,ttyS0,115200', ('-cpu', 'max'), nmi=True),
	Platform('i386', 'i386', 'qemu-system-i386', ('-machine', 'q35'),
		 'console=ttyS0,115200', ('-cpu', 'max'), nmi=True),
	Platform('arm64-gicv3', 'arm64', 'qemu-system-aarch64', ('-machine', 'virt,gic-version=3'),
		 'console=ttyAMA0 earlycon', ('-cpu', 'cortex-a57')),
	Platform('arm64-gicv2', 'arm64', 'qemu-system-aarch64', ('-machine', 'virt,gic-version=2'),
		 'console=ttyAMA0 earlycon', ('-cpu', 'cortex-a57')),
	Platform('riscv64', 'riscv64', 'qemu-system-riscv64', ('-machine', 'virt'),
		 'console=ttyS0 earlycon'),
	Platform('ppc64le', 'ppc64le', 'qemu-system-ppc64', ('-machine', 'pseries'),
		 'console=hvc0', nmi=True),
	Platform('s390x', 's390x', 'qemu-system-s390x', ('-machine', 's390-ccw-virtio'),
		 'console=ttysclp0', serial=('-chardev', 'stdio,id=con0',
					     '-device', 'sclpconsole,chardev=con0')),
)}


def platforms_of(arch):
	return [p for p in PLATFORMS.values() if p.arch == arch]
