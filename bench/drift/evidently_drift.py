"""Evidently's data drift preset on the bench data (its defaults: normalised Wasserstein for numeric
and Jensen-Shannon, natural log, for categorical columns above 1000 rows). Prints JSON."""
import json
import sys
import time
import warnings

import pyarrow.parquet as pq

warnings.filterwarnings('ignore')
from evidently import DataDefinition, Dataset, Report  # noqa: E402
from evidently.presets import DataDriftPreset  # noqa: E402

ref_path, cur_path, features_json = sys.argv[1], sys.argv[2], sys.argv[3]
features = json.loads(features_json)
numeric = [f['name'] for f in features if f['type'] == 'numeric']
categorical = [f['name'] for f in features if f['type'] == 'categorical']
start = time.perf_counter()
ref = pq.read_table(ref_path).to_pandas()
cur = pq.read_table(cur_path).to_pandas()
loaded = time.perf_counter()
definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
report = Report([DataDriftPreset()])
snapshot = report.run(
    current_data=Dataset.from_pandas(cur, data_definition=definition),
    reference_data=Dataset.from_pandas(ref, data_definition=definition),
)
done = time.perf_counter()
values = {}
for metric in snapshot.dict()['metrics']:
    name = metric.get('metric_name', '')
    config = metric.get('config', {})
    column = config.get('column')
    if column is not None and 'ValueDrift' in name:
        values[column] = {'value': metric['value'], 'method': config.get('method')}
print(json.dumps({'loadSeconds': loaded - start, 'computeSeconds': done - loaded, 'version': __import__('evidently').__version__, 'results': values}))
