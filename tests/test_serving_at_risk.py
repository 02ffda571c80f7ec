def test_a_new_lapse_champion_in_the_registry_is_picked_up(
    world: dict[str, object], tmp_path: Path
) -> None:
    from serving.model_source import RegistrySource
    from tests.test_serving_registry import Models

    store: Store = world["store"]  # type: ignore[assignment]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    models = Models(uri, tmp_path / "artifacts")
    assert models.publish(LAPSE, Path(str(world["folder"])) / "lapse") == "1"
    deps = Dependencies(
        store=store,
        model_source=FolderSource(tmp_path / "none", RECOMMENDER),
        lapse_source=RegistrySource(LAPSE, tracking_uri=uri, cache_dir=tmp_path / "cache"),
        tokens=Tokens.parse(TOKENS),
        clock=lambda: NOW,
        pollers=False,
    )
    runtime = Runtime(deps)
    assert runtime.refresher.refresh_lapse()
    first = runtime.at_risk(None, 0.0, None)
    assert first.model_version == f"{LAPSE}@1"
    newer = save_lapse(store, tmp_path / "lapse-2", C=0.001)
    assert models.publish(LAPSE, tmp_path / "lapse-2", promote=False) == "2"
    assert not runtime.refresher.refresh_lapse()  # registered, not champion
    models.registry.promote(LAPSE, "2", reason="better")
    assert runtime.refresher.refresh_lapse()
    second = runtime.at_risk(None, 0.0, None)
    assert second.model_version == f"{LAPSE}@2"
    expected = forecast_lapse(newer, read_activity(store, NOW))
    assert [a.probability for a in second.advocates] == [
        pytest.approx(r.probability, abs=1e-6) for r in expected
    ]
    models.registry.rollback(LAPSE, reason="serving test")
    assert runtime.refresher.refresh_lapse()
    assert runtime.at_risk(None, 0.0, None) == first
