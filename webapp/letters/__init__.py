"""Letters to applicants and third parties as .docx (补正告知书, 征求意见函, 延期答复告知书, 收费通知书,
政府信息公开申请答复书).

Each letter body is a Jinja text template: templates/letters/<kind>.txt, or an administrator's
override stored in the LetterTemplate table (webapp/models/letters.py). ``render_letter(case, kind,
**extra)`` fills it with the case's data as plain values (``letter_context``: one builder per kind,
no ORM object reaches a template) in the bounded sandbox of webapp/sandbox/, and lays it out in
仿宋 (East-Asian font set on every run). For the admin pages: ``letter_template_source(kind)`` (override or file),
``default_template_source(kind)`` (the file), ``template_problem(source)`` (syntax check, in Chinese).
"""

from .render import (
    LETTER_FOR_EVENT,
    LETTER_KINDS,
    LETTER_TITLES,
    default_template_source,
    letter_context,
    letter_filename,
    letter_template_source,
    render_letter,
    render_letter_text,
    template_problem,
    text_to_docx,
)

__all__ = ["LETTER_FOR_EVENT", "LETTER_KINDS", "LETTER_TITLES", "default_template_source", "letter_context",
           "letter_filename", "letter_template_source", "render_letter", "render_letter_text", "template_problem",
           "text_to_docx"]
