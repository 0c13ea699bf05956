# Sourced by the static checks of the tree (test/check_*.sh); not run itself.
#
# report_offenders LABEL HEADER FILES BAD: FILES are the files checked, BAD
# the offending lines as `grep -nH` prints them (empty when none).  Prints
# HEADER and BAD when there are any, then "LABEL: N passed, N failed" (a
# file fails when BAD names it), the line test/run_server_suites.sh counts;
# exits 1 when BAD is not empty.
report_offenders() {
	local label=$1 header=$2 files=$3 bad=$4 n nb
	n=$(echo "$files" | wc -w)
	if [ -n "$bad" ]; then
		echo "$header"
		echo "$bad"
		nb=$(echo "$bad" | cut -d: -f1 | sort -u | wc -l)
		echo "$label: $((n - nb)) passed, $nb failed"
		exit 1
	fi
	echo "$label: $n passed, 0 failed"
}
