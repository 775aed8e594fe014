from flask import Flask

app = Flask(__name__)


@app.route("/api/users/<int:user_id>", methods=["GET"])
def get_user(user_id):
    return {}


@app.post('/api/users/<user_id>/avatar')
def set_avatar(user_id):
    return {}
