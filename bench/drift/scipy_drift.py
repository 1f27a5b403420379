"""The drift computation of bench/drift in numpy/scipy, with the exact definitions of the fixtures
(test/fixtures/drift/make-reference.py, imported from there). Prints JSON: seconds and statistics."""
import importlib.util
import json
import os
import sys
import time

import pyarrow.parquet as pq

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('reference', os.path.join(here, '..', '..', 'test', 'fixtures', 'drift', 'make-reference.py'))
reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reference)

ref_path, cur_path, features_json = sys.argv[1], sys.argv[2], sys.argv[3]
features = json.loads(features_json)
start = time.perf_counter()
ref = pq.read_table(ref_path).to_pandas()
cur = pq.read_table(cur_path).to_pandas()
loaded = time.perf_counter()
out = {}
for f in features:
    fn = reference.numeric if f['type'] == 'numeric' else reference.categorical
    out[f['name']] = fn(ref[f['name']], cur[f['name']])
done = time.perf_counter()
print(json.dumps({'loadSeconds': loaded - start, 'computeSeconds': done - loaded, 'results': out}))
