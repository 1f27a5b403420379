"""Bench-only peer trainers for bench/train: scikit-learn, XGBoost and LightGBM on the same
Parquet files plumb trains on. Prints one JSON object on stdout. Run by bench/train/run.ts
inside the git-ignored venv .tools/bench-venv (see bench/train/setup.sh).

  python peers.py churn <train.parquet> <test.parquet> <label> <threads>
  python peers.py export-breast-cancer <dir> <folds>   # writes fold-k-{train,test}.parquet
  python peers.py folds <dir> <folds> <label> <threads>
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def load(path, label, categories=None):
    df = pd.read_parquet(path)
    y = df.pop(label).astype(int).to_numpy()
    cat_cols = [c for c in df.columns if df[c].dtype == object or str(df[c].dtype) in ("string", "str")]
    for c in df.columns:
        if c in cat_cols:
            df[c] = df[c].astype(pd.CategoricalDtype(categories[c])) if categories else df[c].astype("category")
        else:
            df[c] = df[c].astype("float64")
    return df, y, cat_cols


def timed(fit):
    start = time.perf_counter()
    model = fit()
    return model, time.perf_counter() - start


def run_peers(train_path, test_path, label, threads, trees=100):
    import lightgbm as lgb
    import xgboost as xgb

    x, y, cat_cols = load(train_path, label)
    cats = {c: x[c].cat.categories for c in cat_cols}
    xt, yt, _ = load(test_path, label, cats)
    num_cols = [c for c in x.columns if c not in cat_cols]
    results = []

    def record(name, model, seconds, proba):
        results.append({"trainer": name, "seconds": seconds, "auc": float(roc_auc_score(yt, proba))})

    m, s = timed(lambda: xgb.XGBClassifier(tree_method="hist", n_estimators=trees, max_depth=6, learning_rate=0.1,
                                           max_bin=256, enable_categorical=True, n_jobs=threads).fit(x, y))
    record("xgboost-hist", m, s, m.predict_proba(xt)[:, 1])
    m, s = timed(lambda: lgb.LGBMClassifier(n_estimators=trees, num_leaves=31, max_depth=6, learning_rate=0.1,
                                            min_child_samples=20, n_jobs=threads, verbose=-1).fit(x, y))
    record("lightgbm", m, s, m.predict_proba(xt)[:, 1])
    m, s = timed(lambda: HistGradientBoostingClassifier(max_iter=trees, max_leaf_nodes=31, max_depth=6, learning_rate=0.1,
                                                        early_stopping=False, categorical_features="from_dtype",
                                                        random_state=1).fit(x, y))
    record("sklearn-hist-gbdt", m, s, m.predict_proba(xt)[:, 1])
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), num_cols),
        ("cat", OneHotEncoder(handle_unknown="ignore"), cat_cols),
    ])
    m, s = timed(lambda: make_pipeline(pre, LogisticRegression(C=1.0, max_iter=1000)).fit(x, y))
    record("sklearn-logreg", m, s, m.predict_proba(xt)[:, 1])
    return results


def export_breast_cancer(out_dir, folds):
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import StratifiedKFold

    data = load_breast_cancer(as_frame=True)
    df = data.frame.rename(columns=lambda c: c.replace(" ", "_"))
    # 1 = malignant, the class a screening model looks for
    df["malignant"] = (df.pop("target") == 0).astype("int64")
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=1)
    for k, (tr, te) in enumerate(split.split(df, df["malignant"])):
        df.iloc[tr].to_parquet(f"{out_dir}/fold-{k}-train.parquet", index=False)
        df.iloc[te].to_parquet(f"{out_dir}/fold-{k}-test.parquet", index=False)
    return {"rows": len(df), "features": df.shape[1] - 1, "folds": folds}


def main():
    mode = sys.argv[1]
    if mode == "churn":
        out = run_peers(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif mode == "export-breast-cancer":
        out = export_breast_cancer(sys.argv[2], int(sys.argv[3]))
    elif mode == "folds":
        out_dir, folds, label, threads = sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
        per_fold = [run_peers(f"{out_dir}/fold-{k}-train.parquet", f"{out_dir}/fold-{k}-test.parquet", label, threads)
                    for k in range(folds)]
        out = [{"trainer": r["trainer"],
                "seconds": float(np.sum([f[i]["seconds"] for f in per_fold])),
                "auc": float(np.mean([f[i]["auc"] for f in per_fold]))}
               for i, r in enumerate(per_fold[0])]
    else:
        raise SystemExit(f"unknown mode {mode}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
