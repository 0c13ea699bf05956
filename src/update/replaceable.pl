#!/usr/bin/perl
# replaceable.pl PREV_INSTALL NEW_INSTALL
#
# Prints the part of an update script that can be derived from the new
# install script: every statement of NEW_INSTALL that can run again over an
# installation of the previous version.  The Makefile puts the hand-written
# src/update/PREV--NEW.*.sql fragments in front of it (see the Makefile).
#
# The script is split into statements (quotes, dollar quotes, comments and
# psql backslash lines are understood) and each statement is classified by its
# leading keywords:
#
#   CREATE FUNCTION / PROCEDURE / AGGREGATE / VIEW / TRIGGER / RULE
#       emitted as CREATE OR REPLACE ...;  the text after the keywords is kept
#       byte for byte, so an updated function is identical to a fresh one.
#   COMMENT ON, GRANT, REVOKE, SECURITY LABEL, ALTER FUNCTION/PROCEDURE/
#   AGGREGATE/VIEW, SELECT pg_catalog.pg_extension_config_dump(...)
#       emitted unchanged (they are idempotent).
#   CREATE TYPE / TABLE / SEQUENCE / INDEX / OPERATOR [CLASS|FAMILY] / CAST /
#   DOMAIN / MATERIALIZED VIEW / POLICY / COLLATION / TEXT SEARCH ...,
#   and ALTER TABLE / SEQUENCE / TYPE / INDEX / DOMAIN of such an object
#       cannot be replaced: skipped when PREV_INSTALL already creates an object
#       of that kind and name (then a src/update fragment must carry any
#       change to it), emitted unchanged when the object is new.
#   a statement whose leading comment has a line "-- @install-only"
#       skipped (e.g. the install guard).
#   a statement whose leading comment has a line "-- @update-too"
#       emitted unchanged.
#   anything else (DO, INSERT, SET, ...)
#       an error: mark it with one of the two lines above.
#
# Comments between statements are kept with the statement that follows them,
# so the update script reads like the install script it came from.
use strict;
use warnings;

die "usage: $0 PREV_INSTALL NEW_INSTALL\n" unless @ARGV == 2;
my ($prev_file, $new_file) = @ARGV;

sub slurp
{
	my ($f) = @_;
	open(my $fh, '<', $f) or die "$0: cannot open $f: $!\n";
	local $/;
	my $s = <$fh>;
	close $fh;
	return $s;
}

# Splits SQL text into [lead, body] pairs: lead is the whitespace and
# comments before the statement, body runs from its first token through the
# terminating semicolon (or end of line for a psql backslash command).
sub split_statements
{
	my ($s, $file) = @_;
	my @out;
	my $len = length($s);
	my $i = 0;

	while ($i < $len)
	{
		my $lead_start = $i;

		# leading whitespace and comments
		while ($i < $len)
		{
			if (substr($s, $i) =~ /^(\s+)/)
			{
				$i += length($1);
			}
			elsif (substr($s, $i, 2) eq '--')
			{
				my $e = index($s, "\n", $i);
				$i = $e < 0 ? $len : $e + 1;
			}
			elsif (substr($s, $i, 2) eq '/*')
			{
				$i = skip_block_comment($s, $i, $file);
			}
			else
			{
				last;
			}
		}
		my $lead = substr($s, $lead_start, $i - $lead_start);
		if ($i >= $len)
		{
			push @out, [$lead, ''] if $lead =~ /\S/;
			last;
		}

		my $start = $i;
		if (substr($s, $i, 1) eq '\\')
		{
			my $e = index($s, "\n", $i);
			$i = $e < 0 ? $len : $e;
			push @out, [$lead, substr($s, $start, $i - $start)];
			next;
		}

		# statement body
		while (1)
		{
			die "$0: $file: unterminated statement starting: "
			  . first_line(substr($s, $start)) . "\n"
			  if $i >= $len;
			my $c = substr($s, $i, 1);
			if ($c eq ';')
			{
				$i++;
				last;
			}
			elsif ($c eq "'")
			{
				my $escapes = $i > 0 && substr($s, $i - 1, 1) =~ /[eE]/
				  && ($i < 2 || substr($s, $i - 2, 1) !~ /\w/);
				$i++;
				while (1)
				{
					die "$0: $file: unterminated string\n" if $i >= $len;
					my $d = substr($s, $i, 1);
					if ($escapes && $d eq '\\') { $i += 2; next; }
					if ($d eq "'")
					{
						if (substr($s, $i + 1, 1) eq "'") { $i += 2; next; }
						$i++;
						last;
					}
					$i++;
				}
			}
			elsif ($c eq '"')
			{
				my $e = index($s, '"', $i + 1);
				die "$0: $file: unterminated quoted identifier\n" if $e < 0;
				$i = $e + 1;
			}
			elsif ($c eq '$'
				   && ($i == 0 || substr($s, $i - 1, 1) !~ /[\w\$]/)
				   && substr($s, $i) =~ /^(\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$)/)
			{
				my $tag = $1;
				my $e = index($s, $tag, $i + length($tag));
				die "$0: $file: unterminated dollar quote $tag\n" if $e < 0;
				$i = $e + length($tag);
			}
			elsif (substr($s, $i, 2) eq '--')
			{
				my $e = index($s, "\n", $i);
				$i = $e < 0 ? $len : $e + 1;
			}
			elsif (substr($s, $i, 2) eq '/*')
			{
				$i = skip_block_comment($s, $i, $file);
			}
			else
			{
				$i++;
			}
		}
		push @out, [$lead, substr($s, $start, $i - $start)];
	}
	return @out;
}

sub skip_block_comment
{
	my ($s, $i, $file) = @_;
	my $depth = 0;
	my $len = length($s);
	while ($i < $len)
	{
		if (substr($s, $i, 2) eq '/*') { $depth++; $i += 2; next; }
		if (substr($s, $i, 2) eq '*/')
		{
			$depth--;
			$i += 2;
			return $i if $depth == 0;
			next;
		}
		$i++;
	}
	die "$0: $file: unterminated block comment\n";
}

sub first_line
{
	my ($s) = @_;
	$s =~ s/\n.*//s;
	return $s;
}

# Upper-cased leading words of a statement, comments removed, spaces collapsed.
sub head
{
	my ($body) = @_;
	my $h = substr($body, 0, 400);
	$h =~ s/--[^\n]*//g;
	$h =~ s/\s+/ /g;
	$h =~ s/^ //;
	return $h;
}

sub norm_name
{
	my ($n) = @_;
	$n =~ s/\s+//g;
	$n =~ s/"//g;
	$n = lc($n);
	$n =~ s/^\@extschema\@\.//;
	return $n;
}

# Key of a non-replaceable object created or altered by a statement, or undef.
sub object_key
{
	my ($body) = @_;
	my $h = head($body);
	my $id = qr/(?:"[^"]+"|[\w\@\$]+)(?:\.(?:"[^"]+"|[\w\$]+))?/;

	return "type:" . norm_name($1)
	  if $h =~ /^CREATE TYPE ($id)/i;
	return "table:" . norm_name($1)
	  if $h =~ /^CREATE (?:(?:GLOBAL |LOCAL )?(?:TEMP|TEMPORARY|UNLOGGED) )?TABLE (?:IF NOT EXISTS )?($id)/i;
	return "table:" . norm_name($1)
	  if $h =~ /^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?($id)/i;
	return "sequence:" . norm_name($1)
	  if $h =~ /^(?:CREATE|ALTER) SEQUENCE (?:IF (?:NOT )?EXISTS )?($id)/i;
	return "index:" . norm_name($1)
	  if $h =~ /^CREATE (?:UNIQUE )?INDEX (?:CONCURRENTLY )?(?:IF NOT EXISTS )?($id) ON/i;
	return "index:" . norm_name($1)
	  if $h =~ /^ALTER INDEX (?:IF EXISTS )?($id)/i;
	return "type:" . norm_name($1)
	  if $h =~ /^(?:CREATE|ALTER) DOMAIN ($id)/i;
	return "type:" . norm_name($1)
	  if $h =~ /^ALTER TYPE ($id)/i;
	return "matview:" . norm_name($1)
	  if $h =~ /^CREATE MATERIALIZED VIEW (?:IF NOT EXISTS )?($id)/i;
	return "opclass:" . norm_name($1) . ":" . lc($2)
	  if $h =~ /^CREATE OPERATOR (?:CLASS|FAMILY) ($id) .*?USING (\w+)/i;
	if ($h =~ /^CREATE OPERATOR (\S+) ?\(/i)
	{
		my $name = norm_name($1);
		my ($l) = $body =~ /LEFTARG\s*=\s*([^,)]+)/i;
		my ($r) = $body =~ /RIGHTARG\s*=\s*([^,)]+)/i;
		return "operator:$name(" . norm_name($l // 'none') . ","
		  . norm_name($r // 'none') . ")";
	}
	return "cast:" . norm_name($1) . "," . norm_name($2)
	  if $h =~ /^CREATE CAST \((.+?) AS (.+?)\)/i;
	return "policy:" . norm_name($1) . ":" . norm_name($2)
	  if $h =~ /^CREATE POLICY ($id) ON ($id)/i;
	return "collation:" . norm_name($1)
	  if $h =~ /^CREATE COLLATION (?:IF NOT EXISTS )?($id)/i;
	return "tsearch:" . lc($1) . ":" . norm_name($2)
	  if $h =~ /^CREATE TEXT SEARCH (\w+) ($id)/i;
	return "evttrigger:" . norm_name($1)
	  if $h =~ /^CREATE EVENT TRIGGER ($id)/i;
	return undef;
}

# Non-replaceable objects of the previous version, and its statements
# (whitespace-normalised) to tell an unchanged statement from a changed one.
my %prev_objects;
my %prev_stmts;
foreach my $st (split_statements(slurp($prev_file), $prev_file))
{
	my $key = object_key($st->[1]);
	next unless defined $key;
	$prev_objects{$key} = 1;
	(my $t = $st->[1]) =~ s/\s+/ /g;
	$prev_stmts{$t} = 1;
}

my @stmts = split_statements(slurp($new_file), $new_file);

print "\n-- ===========================================================================\n";
print "-- Generated by src/update/replaceable.pl from $new_file:\n";
print "-- its replaceable definitions, and objects that $prev_file does not create.\n";
print "-- ===========================================================================\n";

my $pending_lead = '';
foreach my $st (@stmts)
{
	my ($lead, $body) = @$st;
	my $h = head($body);

	# The leading \echo of the install script: the header fragment has its own.
	if ($body eq '' || $body =~ /^\\/)
	{
		next;
	}

	my $out;
	if ($lead =~ /^\s*--\s*\@install-only\b/m)
	{
		$out = undef;
	}
	elsif ($lead =~ /^\s*--\s*\@update-too\b/m)
	{
		$out = $body;
	}
	elsif ($h =~ /^CREATE (FUNCTION|PROCEDURE|AGGREGATE|VIEW|TRIGGER|RULE)\b/i)
	{
		($out = $body) =~ s/^CREATE(\s+)/CREATE OR REPLACE$1/i;
	}
	elsif ($h =~ /^CREATE OR REPLACE /i
		   || $h =~ /^(COMMENT ON|GRANT|REVOKE|SECURITY LABEL)\b/i
		   || $h =~ /^ALTER (FUNCTION|PROCEDURE|AGGREGATE|VIEW|ROUTINE)\b/i
		   || $h =~ /^SELECT pg_catalog\.pg_extension_config_dump\s*\(/i)
	{
		$out = $body;
	}
	elsif (defined(my $key = object_key($body)))
	{
		if ($prev_objects{$key})
		{
			(my $t = $body) =~ s/\s+/ /g;
			my $note = $prev_stmts{$t}
			  ? 'unchanged' : 'CHANGED: a src/update fragment must carry the change';
			print "\n-- skipped, exists since the previous version ($note): "
			  . first_line($body) . "\n";
			print STDERR "note: $key changed since $prev_file; "
			  . "src/update fragments must carry the change\n"
			  if $note ne 'unchanged' && $ENV{REPLACEABLE_VERBOSE};
			$out = undef;
		}
		else
		{
			$out = $body;
		}
	}
	else
	{
		die "$0: $new_file: cannot tell whether this statement belongs in the "
		  . "update script:\n  " . first_line($body) . "\n"
		  . "Put a line \"-- \@install-only\" just above it (the update script skips it; "
		  . "write what an update needs in a src/update/*.sql fragment) or "
		  . "\"-- \@update-too\" (the update script runs it unchanged).\n";
	}
	print $lead, $out if defined $out;
}
print "\n";
