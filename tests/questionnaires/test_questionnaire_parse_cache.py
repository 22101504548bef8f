"""Parsed questionnaires are kept by version id and content hash: a version reloaded with new
content before any assessment froze it is read with that new content, never the old parse."""

from __future__ import annotations

from hrdd.config import PROJECT_ROOT
from hrdd.db import SYSTEM
from hrdd.questionnaires import service
from hrdd.questionnaires.loader import load_questionnaire_file

BUNDLED = PROJECT_ROOT / "questionnaires" / "stap-surveillance-v1.yaml"


def test_a_reloaded_unfrozen_version_is_read_with_its_new_content(db):
    questionnaire = load_questionnaire_file(BUNDLED)
    service.store_bundled_questionnaires(db, [questionnaire], "test")
    with db.session(SYSTEM) as session:
        version_id = service.get_version(session, questionnaire.key, questionnaire.version).id
        assert service.questionnaire_by_id(session, version_id).title == questionnaire.title

    revised = questionnaire.model_copy(update={"title": f"{questionnaire.title} (revised)"})
    assert revised.digest() != questionnaire.digest()
    assert service.store_bundled_questionnaires(db, [revised], "test")[0].endswith(
        "updated (not yet used by any assessment)"
    )
    with db.session(SYSTEM) as session:
        assert service.questionnaire_by_id(session, version_id).title == revised.title
        assert (
            service.questionnaire_by_key(session, questionnaire.key, questionnaire.version).title
            == revised.title
        )
