"""Border posts: the pre-arrival list, screenings against each country's risk rules,
and the inspection gate on crossings (``docs/border-posts.md``)."""
