"""The demo page's words, in the learners' languages (``GET /api/messages``).

:data:`PAGE` lists every text of ``static/index.html`` (its text nodes and
``title`` / ``aria-label`` attributes, whitespace collapsed) and every message
``static/app.js`` passes to ``t()``; a test keeps the three in step. The page
asks for them once, in the language of its ``?lang=`` or else the server's
(``linclass demo --lang``, ``$LINCLASS_LANG``, the locale), and swaps each text
for its translation; ``{name}`` placeholders are filled in by the page.
"""

from __future__ import annotations

from ..i18n import N_, resolve, translations

PAGE = [
    # index.html
    N_("linclass · linear classifier demo"), N_("Linear classifier: follow the slope"),
    N_("Three classes of points in 2-D. Each class"), N_("has a score"),
    N_("; a point is predicted as the class with the highest score. Step down the gradient of the loss and "
       "watch the regions move. Every score, loss and gradient on this page is computed by linclass."),
    N_("Data and decision regions"), N_("The data over [-1, 1] squared, coloured by the predicted class"),
    N_("Click an empty spot to add a point of class"), N_("class of new points"),
    N_("0 (red)"), N_("1 (green)"), N_("2 (blue)"),
    N_("; drag a point to move it; shift-click or right-click a point to remove it. Lines: where a class's score "
       "is 0; arrows: its weight vector"),
    N_("Randomize data"), N_("Reset"), N_("Parameters"), N_("value, and its gradient ∂L/∂· below"), N_("class"),
    N_("Loss"), N_("loss function"), N_("SVM (Weston–Watkins)"), N_("SVM one-vs-all"), N_("SVM structured"),
    N_("Softmax"), N_("L2 strength λ"), N_("SVM margin Δ"), N_("step size α"), N_("optimizer"), N_("SGD"),
    N_("SGD + momentum"), N_("Adam"), N_("One parameter update"), N_("Start repeated updates"),
    N_("Randomize parameters"), N_("data loss"), N_("regularization"), N_("total loss"), N_("steps taken"),
    N_("slope of the loss along the last step"),
    N_("the directional derivative of the total loss along the last update d; the steepest descent gives −‖∇L‖"),
    N_("total loss over the steps taken"), N_("Per-point loss"), N_("green: L"),
    N_("= 0; bold: the score of the point's own class"), N_("mean L"), N_("(the data loss)"),
    N_("W is shown as the lecture writes it (one row per class, 3×2); linclass's code stores its transpose "
       "(2×3). Served by"), N_("linclass demo"), N_("; works offline."),
    # app.js
    N_("Stop repeated updates"), N_("the server answered {status}"), N_("(steepest {slope})"),
    N_("Error: {message}"), N_("remove point {i}"), N_("class {k}"), N_("decrease {label}"),
    N_("increase {label}"), N_("gradient of the total loss with respect to {label}"),
    N_("take a step to start the curve"), N_("step {n}"),
    N_("Keep at least one point: the loss is a mean over the points."), N_("At most {n} points."),
    N_("Weston–Watkins SVM"), N_("one-vs-all SVM"), N_("structured SVM"), N_("softmax"),
]


def page_messages(lang: str | None = None) -> dict:
    """``{"lang": code, "messages": {English: translation}}`` of the page, in ``lang`` (resolved)."""
    code = resolve(lang)
    catalogue = translations(code)
    return {"lang": code, "messages": {text: catalogue.gettext(text) for text in PAGE}}
