"""Staff login (登录): the login, logout and password pages (routes.py) and their rules (login.py).
The session rules, user loader and template helpers are app-wide: webapp/platform/."""
