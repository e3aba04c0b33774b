# .dev/ld-quiet.awk - drop the linker warnings the static listener is
# expected to give, keep every other line.
#
#   awk -v ok='dlopen|getpwnam|...' -f .dev/ld-quiet.awk LOG
#
# glibc warns at every static link of a program that calls its NSS
# functions (getpwnam, getaddrinfo...) or dlopen, because those would load
# shared libraries at run time.  The listener reaches them only through
# code paths that glibc 2.36 serves without loading anything (the files and
# dns resolvers are built in) or that it never takes (libwebsockets'
# plugins and privilege drop), so they are noise that reads as failure.
# A warning for any other function is printed, with its "in function"
# line.
/: in function / { ctx = $0; shown = 0; next }
$0 ~ ("warning: Using '(" ok ")' in statically linked") { next }
{
	if (ctx != "" && !shown) {
		print ctx
		shown = 1
	}
	print
}
