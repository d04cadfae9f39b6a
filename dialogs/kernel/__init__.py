"""The kernel of the pure core: events, effects, replies and their rendering, i18n and its
gettext catalogs (locale/), the text folding and the flow of a conversation."""
