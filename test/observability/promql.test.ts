import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  RULES_FILE,
  dashboardExprs,
  documentedMetrics,
  grafanaToPromql,
  metricNames,
  panelsOf,
  promtoolCheckRules,
  readDashboardFiles,
  ruleExprs,
} from './observability-files.ts';

describe('dashboards and alert rules', () => {
  test('the alert rules pass promtool check rules', async () => {
    const out = await promtoolCheckRules(RULES_FILE);
    assert.match(out, /SUCCESS: \d+ rules found/);
    const alerts = ruleExprs().map((r) => r.where);
    for (const name of ['ConsumerLagGrowing', 'CircuitBreakerOpen', 'DeadLettersGrowing', 'ApiErrorRate', 'DeliveryLatencyHigh']) {
      assert.ok(alerts.some((a) => a.includes(name)), `an alert for ${name} in ${RULES_FILE}`);
    }
  });

  test('every dashboard query parses as PromQL (one recording rule per query through promtool)', async () => {
    const exprs = dashboardExprs();
    assert.ok(exprs.length >= 30, `expected the four dashboards to hold many queries, found ${exprs.length}`);
    const dir = mkdtempSync(join(tmpdir(), 'chat4all-promql-'));
    try {
      const file = join(dir, 'dashboards.rules.yaml');
      const rules = exprs.map((e, i) => ({ record: `chat4all:dashboard_query:${i}`, expr: grafanaToPromql(e.expr) }));
      writeFileSync(file, stringify({ groups: [{ name: 'dashboard-queries', rules }] }));
      try {
        const out = await promtoolCheckRules(file);
        assert.match(out, new RegExp(`SUCCESS: ${exprs.length} rules found`));
      } catch (err) {
        // Name the panel whose query broke, not only promtool's rule index.
        const index = /chat4all:dashboard_query:(\d+)/.exec(String(err));
        const which = index ? exprs[Number(index[1])] : undefined;
        throw new Error(`${String(err)}${which ? `\n(query of ${which.where}: ${which.expr})` : ''}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('dashboards take their data source from the ${datasource} variable, never a fixed uid', () => {
    const files = readDashboardFiles();
    assert.deepEqual(files.map((f) => f.dashboard.uid).sort(), ['chat4all-api', 'chat4all-connectors', 'chat4all-gateway', 'chat4all-overview', 'chat4all-router']);
    for (const { file, dashboard } of files) {
      const ds = dashboard.templating?.list?.find((v) => v.name === 'datasource');
      assert.equal(ds?.type, 'datasource', `${file}: a datasource variable`);
      assert.equal(ds?.query, 'prometheus', file);
      for (const p of panelsOf(dashboard)) {
        if (p.type === 'row') continue;
        assert.equal(p.datasource?.uid, '${datasource}', `${file}: panel ${p.title}`);
        assert.ok((p.targets ?? []).length > 0, `${file}: panel ${p.title} has a query`);
        for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, '${datasource}', `${file}: a query of ${p.title}`);
      }
      for (const v of dashboard.templating?.list ?? []) {
        if (v.datasource) assert.equal(v.datasource.uid, '${datasource}', `${file}: variable ${v.name}`);
      }
    }
  });

  test('every metric a dashboard or rule reads is documented in docs/metrics.md', () => {
    const documented = documentedMetrics();
    const known = (name: string) =>
      documented.some((d) =>
        d.name.endsWith('*')
          ? name.startsWith(d.name.slice(0, -1))
          : name === d.name || (d.type === 'histogram' && ['_bucket', '_sum', '_count'].some((s) => name === d.name + s)),
      );
    const missing = [...dashboardExprs(), ...ruleExprs()].flatMap((e) => metricNames(e.expr).filter((n) => !known(n)).map((n) => `${n} (${e.where})`));
    assert.deepEqual(missing, []);
  });

  test('metric names are read from PromQL without functions, labels or keywords', () => {
    assert.deepEqual(
      metricNames('histogram_quantile(0.99, sum by (le, channel) (rate(a_bucket{channel=~"x|y"}[5m]))) / clamp_min(sum(rate(b_total[1m])), 1e-9) > 2 and on(x) c'),
      ['a_bucket', 'b_total', 'c'],
    );
    assert.equal(grafanaToPromql('rate(x{channel=~"$channel"}[$__rate_interval])'), 'rate(x{channel=~".*"}[5m])');
  });
});
