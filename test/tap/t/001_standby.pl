# Hot standby serving: models are tables, so a streaming replica serves them.
#
# A primary and a standby made from its base backup (pg_basebackup through
# PostgreSQL::Test::Cluster::backup, streaming replication):
#  - a model trained on the primary serves the same lists on the standby;
#  - after a retrain on the primary, the standby switches once it has
#    replayed it, also in a session that had the old model loaded;
#  - a customer newer than the model is folded in on the standby;
#  - train on the standby fails with SQLSTATE 25006 and a clear message.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "recpromo.max_threads = 1\n");
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION recpromo;
	CREATE TABLE buys (customer int, product int);
	CREATE INDEX ON buys (customer);
	INSERT INTO buys SELECT u, 1 + (u * 7 + k * 13) % 60
	  FROM generate_series(1, 80) u, generate_series(1, 6) k;
	SELECT name FROM recpromo.train('shop', 'public.buys', 'customer', 'product',
	  method => 'als', factors => 8, iterations => 5, seed => 7);
});

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));

# every customer's top 5, one line per customer
my $lists = q{
	SELECT string_agg(u || ':' || l, ' ' ORDER BY u) FROM generate_series(1, 80) u,
	  LATERAL (SELECT string_agg(item || '=' || round(score::numeric, 9), ',' ORDER BY rank) l
	           FROM recpromo.recommend(u, 5, 'shop')) r};

ok($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()') eq 't', 'the standby is in recovery');
my $before = $primary->safe_psql('postgres', $lists);
ok($before =~ /^1:\d+=/, 'the primary serves the model');
is($standby->safe_psql('postgres', $lists), $before, 'the standby serves the same lists');

# a standby session that has the old model loaded, kept across the retrain
my $session = $standby->background_psql('postgres');
is($session->query_safe($lists), $before, 'a long-lived standby session serves the model');

# retrain with more data and other hyper-parameters: the lists change
$primary->safe_psql('postgres', q{
	INSERT INTO buys SELECT u, 1 + (u * 11 + k * 5) % 60
	  FROM generate_series(1, 80) u, generate_series(1, 4) k;
	SELECT name FROM recpromo.train('shop', 'public.buys', 'customer', 'product',
	  method => 'als', factors => 6, iterations => 4, seed => 8);
});
my $after = $primary->safe_psql('postgres', $lists);
isnt($after, $before, 'the retrain changed the lists on the primary');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
is($standby->safe_psql('postgres', $lists), $after, 'the standby serves the retrained model after replay');
is($session->query_safe($lists), $after, 'the long-lived standby session switched to the retrained model');
$session->quit;

# fold-in: a customer newer than the model, rows written on the primary
$primary->safe_psql('postgres', 'INSERT INTO buys VALUES (5000, 3), (5000, 10), (5000, 17)');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
my $fold = q{SELECT string_agg(item || '=' || round(score::numeric, 9), ',' ORDER BY rank)
	FROM recpromo.recommend(5000, 5, 'shop')};
my $fold_primary = $primary->safe_psql('postgres', $fold);
my $fold_standby = $standby->safe_psql('postgres', $fold);
ok($fold_standby =~ /^(\d+=[-0-9.]+,){4}\d+=[-0-9.]+$/, 'the standby folds in a new customer: 5 items');
ok($fold_standby !~ /(^|,)(3|10|17)=/, 'the folded-in list leaves out what the customer bought');
is($fold_standby, $fold_primary, 'the folded-in list is the primary\'s');

# train on the standby: a clear read-only error
my ($ret, $stdout, $stderr) = $standby->psql('postgres', q{
	\set VERBOSITY verbose
	SELECT name FROM recpromo.train('shop2', 'public.buys', 'customer', 'product', method => 'popularity');
});
isnt($ret, 0, 'train on the standby fails');
like($stderr, qr/ERROR:\s+25006:/, 'with SQLSTATE 25006 (read_only_sql_transaction)');
like($stderr, qr/cannot train model "shop2" on a standby server/, 'with a clear message');
like($stderr, qr/HINT:\s+Train on the primary/, 'and a hint to train on the primary');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM recpromo.models WHERE name = 'shop2'}), '0',
	'no model was created');

$standby->stop;
$primary->stop;
done_testing();
